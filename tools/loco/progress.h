// progress.h: the text of `loco swarm`'s live display: one status line per peer (step, loss,
// validation loss, tokens/s, bytes sent, ETA) under a header line, plus the ANSI sequence that
// redraws a block of lines in place on a terminal. Pure: it returns strings; the caller decides
// whether stdout is a TTY and writes them. Not a curses replacement: no widths, no colours.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "metrics_reader.h"

namespace loco::cli {

// "0 B", "512 B", "1.5 kB", "12.3 MB", "4.56 GB" (decimal units).
std::string format_bytes(double bytes);
// "42s", "3m07s", "1h02m"; "--" for nullopt or negative.
std::string format_duration(std::optional<double> seconds);
// "980", "12.3k", "1.20M".
std::string format_count(double n);

struct ProgressView {
  std::string label;      // e.g. "diloco H=50 (2/3)"
  double elapsed_s = 0;   // since this strategy's peers were started
  std::vector<std::string> names;  // one per peer, same order as peers
  std::vector<PeerProgress> peers;
};

// The header line followed by one line per peer.
std::vector<std::string> format_progress(const ProgressView& view);

// One plain line summarising all peers (for logs and non-TTY output): slowest step, mean loss,
// total tokens/s, mean bytes sent, largest ETA.
std::string format_aggregate(const ProgressView& view);

// The bytes to write to a terminal to replace the `previous_lines` lines printed last time by
// `lines`: cursor up, then each line cleared and rewritten. previous_lines == 0 just prints.
std::string ansi_redraw(const std::vector<std::string>& lines, size_t previous_lines);

}  // namespace loco::cli
