// swarm_flags.cc: see swarm_flags.h.
#include "swarm_flags.h"

namespace loco::cli {

namespace {

Result<uint16_t> parse_port(const std::string& port, const std::string& what,
                            const std::string& text) {
  if (port.empty()) return InvalidArgument(what + " '" + text + "': the port is missing");
  if (port.size() > 5 || port.find_first_not_of("0123456789") != std::string::npos) {
    return InvalidArgument(what + " '" + text + "': the port '" + port + "' is not a number");
  }
  const unsigned long v = std::stoul(port);
  if (v > 65535) {
    return InvalidArgument(what + " '" + text + "': the port " + port + " is above 65535");
  }
  return static_cast<uint16_t>(v);
}

// Splits "HOST", "HOST:REST", "[v6]", "[v6]:REST"; `rest` is nullopt when there is no ':'.
struct Split {
  std::string host;
  std::optional<std::string> rest;
};

Result<Split> split_host(const std::string& text, const std::string& what) {
  Split out;
  if (!text.empty() && text.front() == '[') {
    const size_t close = text.find(']');
    if (close == std::string::npos) {
      return InvalidArgument(what + " '" + text +
                             "': '[' without a closing ']' (want [ADDR]:PORT)");
    }
    out.host = text.substr(1, close - 1);
    if (out.host.empty()) return InvalidArgument(what + " '" + text + "': empty host in brackets");
    const std::string after = text.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') {
        return InvalidArgument(what + " '" + text + "': expected ':PORT' after ']'");
      }
      out.rest = after.substr(1);
    }
    return out;
  }
  const size_t first = text.find(':');
  if (first != std::string::npos && text.find(':', first + 1) != std::string::npos) {
    return InvalidArgument(what + " '" + text +
                           "': an IPv6 address needs brackets, e.g. [::1]:7000");
  }
  out.host = text.substr(0, first);
  if (first != std::string::npos) out.rest = text.substr(first + 1);
  if (out.host.find_first_of(" /\\@") != std::string::npos) {
    return InvalidArgument(what + " '" + text + "': the host '" + out.host +
                           "' is not a name or address");
  }
  return out;
}

bool is_v6(const std::string& host) { return host.find(':') != std::string::npos; }

bool is_wildcard(const std::string& host) { return host == "0.0.0.0" || host == "::"; }

}  // namespace

void add_swarm_flags(CLI::App& app, SwarmFlags& f, bool data_plane) {
  app.add_option("--coordinator", f.coordinator,
                 "coordinator HOST:PORT (a name, an IPv4 address, or [IPv6]:PORT)")
      ->required();
  app.add_option("--secret-file", f.secret_file,
                 "file holding the swarm secret (else env LOCO_SECRET; none: loopback-only swarm)");
  app.add_flag("--no-encrypt", f.no_encrypt,
               "with a secret, seal what this peer sends for integrity only: authenticated, not "
               "encrypted (docs/protocol.md 2.2)");
  if (!data_plane) return;
  app.add_option("--listen", f.listen,
                 "data plane and state chunk server listen on HOST[:PORT|:FIRST-LAST] (the chunk "
                 "server takes the next free port) [127.0.0.1 for a loopback coordinator, else "
                 "every interface]");
  app.add_option("--advertise", f.advertise,
                 "address other peers dial, HOST[:PORT] (a NAT's public address, a container's "
                 "mapped port) [the address the coordinator sees]");
}

Result<HostPort> parse_endpoint(const std::string& text, const std::string& what) {
  if (text.empty()) return InvalidArgument(what + ": empty (want HOST:PORT)");
  LOCO_ASSIGN_OR_RETURN(Split s, split_host(text, what));
  if (!s.rest)
    return InvalidArgument(what + " '" + text + "': the port is missing (want HOST:PORT)");
  HostPort hp;
  hp.host = s.host.empty() ? "127.0.0.1" : s.host;
  LOCO_ASSIGN_OR_RETURN(hp.port, parse_port(*s.rest, what, text));
  if (hp.port == 0) return InvalidArgument(what + " '" + text + "': the port is 0");
  return hp;
}

Result<ListenSpec> parse_listen(const std::string& text) {
  const std::string what = "--listen";
  LOCO_ASSIGN_OR_RETURN(Split s, split_host(text, what));
  if (s.host.empty()) return InvalidArgument(what + " '" + text + "': the host is missing");
  ListenSpec l;
  l.host = s.host;
  if (!s.rest) return l;
  const size_t dash = s.rest->find('-');
  LOCO_ASSIGN_OR_RETURN(l.port, parse_port(s.rest->substr(0, dash), what, text));
  if (dash != std::string::npos) {
    LOCO_ASSIGN_OR_RETURN(l.port_last, parse_port(s.rest->substr(dash + 1), what, text));
    if (l.port == 0 || l.port_last <= l.port) {
      return InvalidArgument(what + " '" + text +
                             "': the range must be FIRST-LAST with 0 < FIRST < LAST");
    }
  }
  return l;
}

Result<HostPort> parse_advertise(const std::string& text) {
  const std::string what = "--advertise";
  LOCO_ASSIGN_OR_RETURN(Split s, split_host(text, what));
  if (s.host.empty()) return InvalidArgument(what + " '" + text + "': the host is missing");
  if (is_wildcard(s.host)) {
    return InvalidArgument(what + " '" + text + "': peers cannot dial " + s.host +
                           "; give an address they reach");
  }
  HostPort hp;
  hp.host = s.host;
  if (s.rest) {
    LOCO_ASSIGN_OR_RETURN(hp.port, parse_port(*s.rest, what, text));
  }
  return hp;
}

bool is_loopback_host(const std::string& host) {
  return host == "localhost" || host == "::1" || host.rfind("127.", 0) == 0;
}

Status apply_swarm_flags(const SwarmFlags& f, collectives::SwarmPeerOptions& opts) {
  LOCO_ASSIGN_OR_RETURN(HostPort coord, parse_endpoint(f.coordinator, "--coordinator"));
  auto key = load_key(f.secret_file);
  if (!key.ok()) {
    return InvalidArgument((f.secret_file.empty() ? "LOCO_SECRET: " : "--secret-file: ") +
                           key.status().message());
  }
  opts.peer.coordinator_host = coord.host;
  opts.peer.coordinator_port = coord.port;
  opts.peer.key = *key;
  opts.peer.encrypt = !f.no_encrypt;

  std::optional<ListenSpec> listen;
  std::optional<HostPort> advertise;
  if (!f.listen.empty()) {
    LOCO_ASSIGN_OR_RETURN(listen, parse_listen(f.listen));
  }
  if (!f.advertise.empty()) {
    LOCO_ASSIGN_OR_RETURN(advertise, parse_advertise(f.advertise));
  }
  if (listen) {
    opts.mesh.listen_host = listen->host;
    opts.mesh.listen_port = listen->port;
    opts.mesh.listen_port_last = listen->port_last;
  } else if (is_loopback_host(coord.host) && !advertise) {
    opts.mesh.listen_host = coord.host == "::1" ? "::1" : "127.0.0.1";
  } else {
    const bool v6 = is_v6(coord.host) || (advertise && is_v6(advertise->host));
    opts.mesh.listen_host = v6 ? "::" : "0.0.0.0";
  }
  if (advertise) {
    opts.peer.data_host = advertise->host;
    opts.advertise_port = advertise->port;
  } else if (!is_wildcard(opts.mesh.listen_host)) {
    opts.peer.data_host = opts.mesh.listen_host;
  }  // else empty: the coordinator fills in the address it sees
  return OkStatus();
}

}  // namespace loco::cli
