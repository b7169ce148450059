// replay_main.cc: a main() that replays a corpus through LLVMFuzzerTestOneInput, so every fuzz
// target also builds, with any compiler, as a plain regression test. Usage: <binary> <corpus-dir>.
// Fails (exit 1) when the directory is missing, unreadable or holds no files; a crashing input
// aborts the process. It does no fuzzing itself: that is libFuzzer's job (README.md).
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <system_error>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

int main(int argc, char** argv) {
  namespace fs = std::filesystem;
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s <corpus-dir>\n", argv[0]);
    return 1;
  }
  const fs::path dir = argv[1];
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) {
    std::fprintf(stderr, "corpus directory '%s' does not exist\n", dir.c_str());
    return 1;
  }
  std::vector<fs::path> files;
  for (const fs::directory_entry& e : fs::directory_iterator(dir, ec)) {
    if (e.is_regular_file()) files.push_back(e.path());
  }
  if (ec) {
    std::fprintf(stderr, "cannot list '%s': %s\n", dir.c_str(), ec.message().c_str());
    return 1;
  }
  if (files.empty()) {
    std::fprintf(stderr, "corpus directory '%s' holds no files\n", dir.c_str());
    return 1;
  }
  std::sort(files.begin(), files.end());
  for (const fs::path& p : files) {
    std::printf("%s\n", p.filename().c_str());
    std::fflush(stdout);  // names the culprit if the input aborts
    std::ifstream in(p, std::ios::binary);
    if (!in) {
      std::fprintf(stderr, "cannot read '%s'\n", p.c_str());
      return 1;
    }
    std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    LLVMFuzzerTestOneInput(bytes.data(), bytes.size());
  }
  std::printf("replayed %zu inputs from %s\n", files.size(), dir.c_str());
  return 0;
}
