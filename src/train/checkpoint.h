// checkpoint.h: the trainer's checkpoint file: named integer scalars (step, data position, ...)
// and named float buffers (flat parameters, inner optimizer moments, the strategy's state
// buffers), with a checksum. Written to a temporary file and renamed, so a crash mid-write leaves
// the previous checkpoint intact. Every malformed byte gives an error naming the file.
// Not here: what goes into a checkpoint (trainer.cc decides) or LibTorch serialization.
//
// Format (little-endian): "LOCOCKP1", u32 version, u32 n_scalars, {u16 len, name, i64 value}*,
// u32 n_buffers, {u16 len, name, u64 count, f32[count]}*, u64 xxh64 of everything before it.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "common/status.h"

namespace loco::train {

struct Checkpoint {
  std::map<std::string, int64_t> scalars;
  std::map<std::string, std::vector<float>> buffers;
};

[[nodiscard]] Status write_checkpoint(const std::string& path, const Checkpoint& ckpt);
Result<Checkpoint> read_checkpoint(const std::string& path);

// "<dir>/checkpoint.bin": the one file a run keeps (overwritten at each save).
std::string checkpoint_path(const std::string& dir);

}  // namespace loco::train
