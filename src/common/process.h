// process.h: child processes for the `loco swarm` launcher, benchmarks and multi-process tests:
// spawn with arguments (posix_spawn), signal, and wait with a deadline. Not a general process
// library: no pipes or shells; children inherit stdout/stderr unless redirected to a file.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/status.h"

namespace loco {

struct ExitInfo {
  bool exited = false;   // true: normal exit with `code`; false: killed by `signal`
  int code = 0;
  int signal = 0;
  std::string to_string() const;
};

class ChildProcess {
 public:
  // Starts `argv[0]` (a path) with argv. When `output_file` is set, the child's stdout and stderr
  // are appended to it.
  static Result<ChildProcess> spawn(const std::vector<std::string>& argv,
                                    const std::string& output_file = "");
  ChildProcess() = default;
  ChildProcess(ChildProcess&& other) noexcept;
  ChildProcess& operator=(ChildProcess&& other) noexcept;
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;
  // Kills (SIGKILL) and reaps a child that is still running.
  ~ChildProcess();

  pid_t pid() const { return pid_; }
  bool running();
  Status signal(int sig);
  // Waits for the child to end; DEADLINE_EXCEEDED if it has not by then.
  Result<ExitInfo> wait(Deadline deadline);

 private:
  pid_t pid_ = -1;
  std::optional<ExitInfo> exit_;
};

// The path of the running executable (/proc/self/exe).
std::string self_executable();

}  // namespace loco
