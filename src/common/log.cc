// log.cc: spdlog set-up for loco processes.
#include "common/log.h"

#include <spdlog/sinks/stdout_color_sinks.h>

#include <cstdlib>
#include <mutex>
#include <string>

namespace loco {

void set_log_level(std::string_view level) {
  spdlog::set_level(spdlog::level::from_str(std::string(level)));
}

void init_logging(std::string_view name) {
  static std::once_flag once;
  std::call_once(once, [&] {
    auto logger = spdlog::stderr_color_mt(std::string(name));
    logger->set_pattern("%H:%M:%S.%e %n %^%l%$ %v");
    spdlog::set_default_logger(logger);
    const char* env = std::getenv("LOCO_LOG_LEVEL");
    set_log_level(env != nullptr ? env : "info");
  });
}

}  // namespace loco
