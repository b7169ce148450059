// log.cc: spdlog set-up for loco processes, and the parsing of a level name. Not here: metrics.
#include "common/log.h"

#include <spdlog/sinks/stdout_color_sinks.h>

#include <cstdlib>
#include <mutex>
#include <string>

namespace loco {

namespace {
// spdlog's from_str returns `off` for any name it does not know; so a typo would silence every
// log line. The names it does know, in its own spelling plus its aliases.
constexpr std::string_view kLevelNames[] = {"trace", "debug",    "info", "warn", "warning",
                                            "error", "err",      "critical", "off"};
}  // namespace

Result<spdlog::level::level_enum> parse_log_level(std::string_view level) {
  for (std::string_view name : kLevelNames) {
    if (level == name) return spdlog::level::from_str(std::string(level));
  }
  return InvalidArgument("unknown log level '" + std::string(level) +
                         "' (levels: trace, debug, info, warn, error, critical, off)");
}

Status set_log_level(std::string_view level) {
  LOCO_ASSIGN_OR_RETURN(spdlog::level::level_enum parsed, parse_log_level(level));
  spdlog::set_level(parsed);
  return OkStatus();
}

Status init_logging(std::string_view name) {
  static std::once_flag once;
  static Status env_status;
  std::call_once(once, [&] {
    auto logger = spdlog::stderr_color_mt(std::string(name));
    logger->set_pattern("%H:%M:%S.%e %n %^%l%$ %v");
    spdlog::set_default_logger(logger);
    spdlog::set_level(spdlog::level::info);
    const char* env = std::getenv("LOCO_LOG_LEVEL");
    if (env != nullptr) env_status = set_log_level(env).with_context("LOCO_LOG_LEVEL");
  });
  return env_status;
}

}  // namespace loco
