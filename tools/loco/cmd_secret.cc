// cmd_secret.cc: `loco secret new FILE`, which writes a fresh swarm secret (32 random bytes as
// "loco-secret-v1:" + 64 hex digits) to FILE with mode 0600. Such a secret has full entropy, so it
// is used as it is; any other secret text is a passphrase and is stretched with Argon2id
// (membership/auth.h). Not here: distributing the file to the other hosts (copy it yourself, e.g.
// with scp, keeping the mode).
#include <iostream>
#include <memory>
#include <string>

#include "commands.h"
#include "membership/auth.h"

namespace loco::cli {

namespace {
struct SecretArgs {
  std::string path;
  bool force = false;
};
}  // namespace

Runner add_secret_command(CLI::App& app) {
  auto args = std::make_shared<SecretArgs>();
  app.require_subcommand(1, 1);
  CLI::App* make = app.add_subcommand("new", "write a fresh random swarm secret to FILE (mode 0600)");
  make->add_option("FILE", args->path, "where to write it (not overwritten unless --force)")
      ->required();
  make->add_flag("--force", args->force, "replace an existing file");
  return [args]() -> int {
    Status s = membership::write_new_secret_file(args->path, args->force);
    if (!s.ok()) {
      std::cerr << "loco secret new: " << s.message() << "\n";
      return s.code() == StatusCode::kFailedPrecondition ? 1 : 2;
    }
    std::cout << "wrote a new swarm secret to " << args->path
              << " (mode 0600). Copy it to every host, keeping it private, and pass it with\n"
                 "  --secret-file "
              << args->path << "\nto the coordinator and every peer.\n";
    return 0;
  };
}

}  // namespace loco::cli
