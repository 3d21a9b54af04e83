// Replays every input of a fuzz corpus (FUZZ_CORPUS: fuzz/corpus/parser or fuzz/corpus/profile) through its fuzz
// target's function, linked in beside this file: what the fuzzer once found stays fixed.
#include <doctest/doctest.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <sstream>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);

TEST_CASE("every fuzz corpus input runs through its target without a crash") {
  int inputs = 0;
  for (const auto& entry : std::filesystem::directory_iterator(HOTSPOTD_SOURCE_DIR "/fuzz/corpus/" FUZZ_CORPUS)) {
    std::ifstream in(entry.path(), std::ios::binary);
    std::stringstream buf;
    buf << in.rdbuf();
    const std::string data = buf.str();
    CAPTURE(entry.path().string());
    CHECK(LLVMFuzzerTestOneInput(reinterpret_cast<const std::uint8_t*>(data.data()), data.size()) == 0);
    ++inputs;
  }
  CHECK(inputs >= 10);
}
