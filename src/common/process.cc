// process.cc: posix_spawn-based child processes (see process.h).
#include "common/process.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <thread>

extern char** environ;

namespace loco {

std::string ExitInfo::to_string() const {
  return exited ? "exit code " + std::to_string(code) : "killed by signal " + std::to_string(signal);
}

Result<ChildProcess> ChildProcess::spawn(const std::vector<std::string>& argv,
                                         const std::string& output_file) {
  if (argv.empty()) return InvalidArgument("spawn: empty argv");
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  if (!output_file.empty()) {
    posix_spawn_file_actions_addopen(&actions, 1, output_file.c_str(),
                                     O_WRONLY | O_CREAT | O_APPEND, 0644);
    posix_spawn_file_actions_adddup2(&actions, 1, 2);
  }
  ChildProcess child;
  int rc = posix_spawn(&child.pid_, args[0], &actions, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) {
    child.pid_ = -1;
    return Unavailable("spawn " + argv[0] + ": " + std::strerror(rc));
  }
  return child;
}

ChildProcess::ChildProcess(ChildProcess&& other) noexcept
    : pid_(other.pid_), exit_(other.exit_) {
  other.pid_ = -1;
}

ChildProcess& ChildProcess::operator=(ChildProcess&& other) noexcept {
  if (this != &other) {
    this->~ChildProcess();
    pid_ = other.pid_;
    exit_ = other.exit_;
    other.pid_ = -1;
  }
  return *this;
}

ChildProcess::~ChildProcess() {
  if (pid_ > 0 && !exit_) {
    ::kill(pid_, SIGKILL);
    ::kill(pid_, SIGCONT);
    int st = 0;
    ::waitpid(pid_, &st, 0);
  }
  pid_ = -1;
}

bool ChildProcess::running() {
  if (pid_ <= 0 || exit_) return false;
  auto r = wait(Deadline::after(Duration::zero()));
  return !r.ok();
}

Status ChildProcess::signal(int sig) {
  if (pid_ <= 0 || exit_) return FailedPrecondition("process is not running");
  if (::kill(pid_, sig) != 0) return Internal(std::string("kill: ") + std::strerror(errno));
  return OkStatus();
}

Result<ExitInfo> ChildProcess::wait(Deadline deadline) {
  if (exit_) return *exit_;
  if (pid_ <= 0) return FailedPrecondition("no process");
  for (;;) {
    int st = 0;
    pid_t r = ::waitpid(pid_, &st, WNOHANG);
    if (r == pid_) {
      ExitInfo info;
      info.exited = WIFEXITED(st);
      info.code = info.exited ? WEXITSTATUS(st) : 0;
      info.signal = WIFSIGNALED(st) ? WTERMSIG(st) : 0;
      exit_ = info;
      return info;
    }
    if (r < 0 && errno != EINTR) return Internal(std::string("waitpid: ") + std::strerror(errno));
    if (deadline.expired() || deadline.when() <= now()) {
      return DeadlineExceeded("process " + std::to_string(pid_) + " still running");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

std::string self_executable() {
  char buf[4096];
  ssize_t n = ::readlink("/proc/self/exe", buf, sizeof(buf) - 1);
  if (n <= 0) return "loco";
  return std::string(buf, static_cast<size_t>(n));
}

}  // namespace loco
