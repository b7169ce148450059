// cmd_train.cc: `loco train ...` runs `loco-train train ...` with the same arguments (exec, so
// signals and the exit code are loco-train's own). loco-train holds the LibTorch trainer and is
// built only where LibTorch is; `loco` itself never links LibTorch (torch costs ~0.5 s per start).
// It is looked up next to this executable. Not here: any option parsing (`loco train --help` is
// loco-train's help).
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <string>
#include <vector>

#include "commands.h"
#include "common/process.h"

namespace loco::cli {

Runner add_train_command(CLI::App& app) {
  app.prefix_command();   // every argument after `train` goes to loco-train unparsed
  app.set_help_flag();    // so does --help
  CLI::App* self = &app;
  return [self]() -> int {
    const std::string bin =
        (std::filesystem::path(self_executable()).parent_path() / "loco-train").string();
    if (::access(bin.c_str(), X_OK) != 0) {
      std::cerr << "loco train: " << bin
                << " is missing: the trainer is built only with LibTorch "
                   "(apt-get install libtorch-dev, then rebuild)\n";
      return 2;
    }
    std::vector<std::string> args = {bin, "train"};
    for (const auto& a : self->remaining()) args.push_back(a);
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    ::execv(bin.c_str(), argv.data());
    std::cerr << "loco train: cannot run " << bin << ": " << std::strerror(errno) << "\n";
    return 2;
  };
}

}  // namespace loco::cli
