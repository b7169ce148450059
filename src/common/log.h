// log.h: loco's logging, a thin layer over spdlog so that call sites do not depend on its set-up.
// Logs go to stderr; the level comes from LOCO_LOG_LEVEL (trace, debug, info, warn, error, off) or
// set_log_level(). Not for metrics: those go through the metrics sink as JSON lines.
#pragma once

#include <spdlog/spdlog.h>

#include <string_view>

#include "common/status.h"

namespace loco {

// Sets up the default logger once (idempotent, thread-safe). `name` tags every line. The level is
// info, or LOCO_LOG_LEVEL's; an unknown LOCO_LOG_LEVEL leaves it at info and returns
// INVALID_ARGUMENT naming the levels (every call returns the first call's status).
[[nodiscard]] Status init_logging(std::string_view name);
// INVALID_ARGUMENT (the level is unchanged) for a name that is not one of trace, debug, info,
// warn (warning), error (err), critical, off.
[[nodiscard]] Status set_log_level(std::string_view level);
[[nodiscard]] Result<spdlog::level::level_enum> parse_log_level(std::string_view level);

}  // namespace loco

#define LOCO_LOG_TRACE(...) SPDLOG_TRACE(__VA_ARGS__)
#define LOCO_LOG_DEBUG(...) ::spdlog::debug(__VA_ARGS__)
#define LOCO_LOG_INFO(...) ::spdlog::info(__VA_ARGS__)
#define LOCO_LOG_WARN(...) ::spdlog::warn(__VA_ARGS__)
#define LOCO_LOG_ERROR(...) ::spdlog::error(__VA_ARGS__)
