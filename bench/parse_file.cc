// parse_file: parses an exposition file (or writes a generated one) and reports single-core throughput.
//   parse_file --generate N OUT      write a histogram-heavy exposition with N label sets
//   parse_file FILE [REPEAT]         parse FILE REPEAT times, print MB/s and ns per sample
#include <chrono>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>

#include "bench/exposition_gen.h"
#include "ingest/text_parser.h"

int main(int argc, char** argv) {
  using namespace hotspotd::ingest;
  if (argc == 4 && std::string(argv[1]) == "--generate") {
    std::ofstream(argv[3], std::ios::binary) << hotspotd::bench::histogramExposition(std::stoi(argv[2]));
    return 0;
  }
  if (argc < 2) {
    std::fprintf(stderr, "usage: parse_file FILE [REPEAT] | parse_file --generate N OUT\n");
    return 2;
  }
  std::ifstream in(argv[1], std::ios::binary);
  std::stringstream buf;
  buf << in.rdbuf();
  const std::string body = buf.str();
  const int repeat = argc > 2 ? std::stoi(argv[2]) : 20;
  const auto format = body.ends_with("# EOF\n") ? ExpositionFormat::openmetrics : ExpositionFormat::prometheus_text;
  std::vector<Label> labels;
  std::size_t samples = 0;
  std::size_t label_count = 0;
  double best = 1e30;
  for (int r = 0; r < repeat; ++r) {
    const auto t0 = std::chrono::steady_clock::now();
    TextParser p(body, format);
    std::size_t n = 0;
    while (p.next()) {
      p.labels(labels);  // full parse: every label checked, as on a cold scrape cache
      n += labels.size();
    }
    if (p.error()) {
      std::fprintf(stderr, "parse error: %s\n", p.error()->message.c_str());
      return 1;
    }
    samples = p.samplesSeen();
    label_count = n;
    best = std::min(best, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
  std::printf("bytes=%zu samples=%zu labels=%zu seconds=%.6f mb_per_s=%.1f ns_per_sample=%.1f\n", body.size(), samples,
              label_count, best, static_cast<double>(body.size()) / best / 1e6,
              best * 1e9 / static_cast<double>(samples));
  return 0;
}
