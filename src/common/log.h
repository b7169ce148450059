// log.h: loco's logging, a thin layer over spdlog so that call sites do not depend on its set-up.
// Logs go to stderr; the level comes from LOCO_LOG_LEVEL (trace, debug, info, warn, error, off) or
// set_log_level(). Not for metrics: those go through the metrics sink as JSON lines.
#pragma once

#include <spdlog/spdlog.h>

#include <string_view>

namespace loco {

// Sets up the default logger once (idempotent, thread-safe). `name` tags every line.
void init_logging(std::string_view name);
void set_log_level(std::string_view level);

}  // namespace loco

#define LOCO_LOG_TRACE(...) SPDLOG_TRACE(__VA_ARGS__)
#define LOCO_LOG_DEBUG(...) ::spdlog::debug(__VA_ARGS__)
#define LOCO_LOG_INFO(...) ::spdlog::info(__VA_ARGS__)
#define LOCO_LOG_WARN(...) ::spdlog::warn(__VA_ARGS__)
#define LOCO_LOG_ERROR(...) ::spdlog::error(__VA_ARGS__)
