// wan_lab.h: test support for multi-host tests: brings up scripts/wan-lab with a topology file
// under a lab name of the test's own (so tests and a developer's lab coexist), gives each host's
// addresses, wraps a command to run inside a host's namespace, and takes the lab down in the
// destructor. skip_reason() says why a lab cannot run here (not root, vde missing). Not here:
// anything about loco processes (swarm_harness.h).
#pragma once

#include <unistd.h>

#include <cstdlib>
#include <string>
#include <vector>

#include "support/swarm_harness.h"

namespace loco::testing {

inline std::string wan_lab_script() { return std::string(LOCO_SOURCE_DIR) + "/scripts/wan-lab"; }
inline std::string wan_topology(const std::string& name) {
  return std::string(LOCO_SOURCE_DIR) + "/scripts/wan/" + name;
}

// Runs a shell command line; its stdout (trailing newline removed), or "" on failure.
inline std::string shell_output(const std::string& cmd, int* rc = nullptr) {
  std::string out;
  FILE* f = ::popen(cmd.c_str(), "r");
  if (f == nullptr) return out;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) out.append(buf, n);
  const int status = ::pclose(f);
  if (rc != nullptr) *rc = status;
  while (!out.empty() && out.back() == '\n') out.pop_back();
  return out;
}

class WanLab {
 public:
  // `lab` is the namespace prefix (short: Linux names are at most 15 bytes with the host).
  WanLab(const std::string& lab, const std::string& topology) : lab_(lab) {
    if (::geteuid() != 0) {
      skip_ = "multi-host lab tests need root (network namespaces); run ctest as root";
      return;
    }
    for (const char* tool : {"vde_switch", "wirefilter", "ip"}) {
      if (shell_output(std::string("command -v ") + tool).empty()) {
        skip_ = std::string(tool) + " is missing: apt-get install vde2 vde-wirefilter iproute2";
        return;
      }
    }
    ip_ = shell_output("command -v ip");
    run("down >/dev/null 2>&1");  // a lab left by a killed test run
    int rc = 0;
    up_log_ = shell_output(env() + wan_lab_script() + " up " + topology + " 2>&1", &rc);
    if (rc != 0) {
      error_ = "wan-lab up failed: " + up_log_;
      return;
    }
    up_ = true;
  }
  ~WanLab() {
    if (up_) run("down >/dev/null 2>&1");
  }
  WanLab(const WanLab&) = delete;
  WanLab& operator=(const WanLab&) = delete;

  const std::string& skip_reason() const { return skip_; }
  const std::string& error() const { return error_; }
  bool up() const { return up_; }
  std::string status() { return shell_output(env() + wan_lab_script() + " status"); }

  std::string addr(const std::string& host, bool v6 = false) {
    return shell_output(env() + wan_lab_script() + " addr " + host + (v6 ? " 6" : ""));
  }
  std::string ns(const std::string& host) const { return lab_ + "-" + host; }
  // argv that runs `argv` inside `host`'s namespace.
  std::vector<std::string> in(const std::string& host, std::vector<std::string> argv) const {
    std::vector<std::string> out = {ip_, "netns", "exec", ns(host)};
    out.insert(out.end(), argv.begin(), argv.end());
    return out;
  }
  // Runs a shell command inside `host`'s namespace; its exit status (0: ok).
  int sh(const std::string& host, const std::string& cmd) {
    return std::system((ip_ + " netns exec " + ns(host) + " sh -c '" + cmd + "'").c_str());
  }

 private:
  std::string env() const { return "WAN_LAB=" + lab_ + " "; }
  int run(const std::string& args) {
    return std::system((env() + wan_lab_script() + " " + args).c_str());
  }

  std::string lab_, ip_, skip_, error_, up_log_;
  bool up_ = false;
};

}  // namespace loco::testing
