// cmd_coordinator.cc: `loco coordinator`: runs a coordinator until SIGINT/SIGTERM.
#include <iostream>
#include <memory>
#include <thread>

#include "cli_util.h"
#include "commands.h"
#include "common/log.h"
#include "membership/coordinator.h"

namespace loco::cli {

namespace {
struct CoordinatorArgs {
  std::string listen = "127.0.0.1:0";
  std::string port_file;
  std::string secret_file;
  bool no_encrypt = false;
  int heartbeat_ms = 500;
  int heartbeat_timeout_ms = 3000;
  int join_window_ms = 200;
};
}  // namespace

Runner add_coordinator_command(CLI::App& app) {
  auto args = std::make_shared<CoordinatorArgs>();
  app.add_option("--listen", args->listen, "HOST:PORT to listen on (port 0 picks a free port)")
      ->capture_default_str();
  app.add_option("--port-file", args->port_file, "write the bound port to this file once listening");
  app.add_option("--secret-file", args->secret_file,
                 "file holding the swarm secret (else env LOCO_SECRET; with neither, only loopback "
                 "peers are admitted)");
  app.add_flag("--no-encrypt", args->no_encrypt,
               "with a secret, seal what the coordinator sends for integrity only (not encrypted)");
  app.add_option("--heartbeat-ms", args->heartbeat_ms, "heartbeat period peers are told to use")
      ->capture_default_str()->check(CLI::Range(1, 600000));
  app.add_option("--heartbeat-timeout-ms", args->heartbeat_timeout_ms,
                 "a peer silent this long is declared dead")
      ->capture_default_str()->check(CLI::Range(2, 3600000));
  app.add_option("--join-window-ms", args->join_window_ms,
                 "joins are batched into one epoch for this long")
      ->capture_default_str()->check(CLI::Range(0, 600000));
  return [args]() -> int {
    auto hp = parse_host_port(args->listen);
    if (!hp.ok()) {
      std::cerr << "loco coordinator: " << hp.status().to_string() << "\n";
      return 2;
    }
    auto key = load_key(args->secret_file);
    if (!key.ok()) {
      std::cerr << "loco coordinator: " << key.status().to_string() << "\n";
      return 2;
    }
    membership::CoordinatorOptions opts;
    opts.host = hp->host;
    opts.port = hp->port;
    opts.key = *key;
    opts.encrypt = !args->no_encrypt;
    opts.config.heartbeat_period = std::chrono::milliseconds(args->heartbeat_ms);
    opts.config.heartbeat_timeout = std::chrono::milliseconds(args->heartbeat_timeout_ms);
    opts.config.join_window = std::chrono::milliseconds(args->join_window_ms);
    auto coord = membership::Coordinator::start(opts);
    if (!coord.ok()) {
      std::cerr << "loco coordinator: " << coord.status().to_string() << "\n";
      return coord.status().code() == StatusCode::kInvalidArgument ? 2 : 1;
    }
    if (!args->port_file.empty()) {
      Status s = write_port_file(args->port_file, (*coord)->port());
      if (!s.ok()) {
        std::cerr << "loco coordinator: " << s.to_string() << "\n";
        return 2;
      }
    }
    while (!stop_requested()) std::this_thread::sleep_for(std::chrono::milliseconds(50));
    LOCO_LOG_INFO("coordinator stopping at epoch {}", (*coord)->epoch());
    (*coord)->stop();
    return 0;
  };
}

}  // namespace loco::cli
