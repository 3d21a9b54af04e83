// Replays every input of the fuzz corpus (fuzz/corpus/parser) through the fuzz target's function: what the fuzzer
// once found stays fixed.
#include <doctest/doctest.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <sstream>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);

TEST_CASE("every parser fuzz corpus input runs through parse and ingest without a crash") {
  int inputs = 0;
  for (const auto& entry : std::filesystem::directory_iterator(HOTSPOTD_SOURCE_DIR "/fuzz/corpus/parser")) {
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
