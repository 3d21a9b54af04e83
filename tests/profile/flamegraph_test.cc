// Flame graph SVGs: geometry by samples, stable colours, escaping of hostile frame names into well-formed XML
// (checked by a real XML parser), elision of frames narrower than 0.1 px, and differential colours.
#include <doctest/doctest.h>

#include <fstream>
#include <regex>

#include "profile/flamegraph.h"
#include "tests/support/components.h"
#include "tests/support/child_process.h"
#include "tests/support/temp_dir.h"

using namespace hotspotd;
using profile::FoldedStacks;

namespace {

FoldedStacks stacks(std::string_view text) {
  auto s = FoldedStacks::parse(text);
  REQUIRE_MESSAGE(s, (s ? "" : s.error().message));
  return *s;
}

// The <g> of the frame whose title starts with `name (`.
std::string frameOf(const std::string& svg, const std::string& name) {
  const auto at = svg.find("<title>" + name + " (");
  if (at == std::string::npos) return {};
  const auto start = svg.rfind("<g", at);
  return svg.substr(start, svg.find("</g>", at) - start);
}

double attr(const std::string& frame, const std::string& name) {
  std::smatch m;
  REQUIRE(std::regex_search(frame, m, std::regex(" " + name + "=\"([0-9.]+)\"")));
  return std::stod(m[1]);
}

std::string fill(const std::string& frame) {
  std::smatch m;
  REQUIRE(std::regex_search(frame, m, std::regex("fill=\"(#[0-9a-f]{6})\"")));
  return m[1];
}

}  // namespace

TEST_CASE("frames are as wide as their samples, children on top of their parent in name order") {
  const std::string svg = profile::renderFlameGraph(stacks("main;work;hot 75\nmain;work;cold 25\nmain 100\n"));
  const auto all = frameOf(svg, "all"), main_f = frameOf(svg, "main"), hot = frameOf(svg, "hot"),
             cold = frameOf(svg, "cold");
  REQUIRE(!hot.empty());
  CHECK(attr(all, "width") == doctest::Approx(1180));
  CHECK(attr(main_f, "width") == doctest::Approx(1180));
  CHECK(attr(hot, "width") == doctest::Approx(1180 * 75.0 / 200).epsilon(0.001));
  CHECK(attr(cold, "x") < attr(hot, "x"));  // "cold" sorts before "hot"
  CHECK(attr(hot, "y") < attr(frameOf(svg, "work"), "y"));  // on top: smaller y
  CHECK(hot.find("<title>hot (75 samples, 37.50%)</title>") != std::string::npos);
  CHECK(svg.find("<script>") != std::string::npos);  // zoom and search
  // The same name gets the same colour in another graph.
  const std::string other = profile::renderFlameGraph(stacks("x;hot 3\n"));
  CHECK(fill(frameOf(other, "hot")) == fill(hot));
}

TEST_CASE("hostile frame names are escaped and the SVG stays well-formed XML") {
  const std::string nasty =
      "main;<script>alert(1)</script> 5\n"
      "main;a&b\"c'd]]>e 3\n"
      "main;bad\xff\xfe utf8 \x01 ctl 2\n"
      "main;caf\xc3\xa9 1\n";
  const std::string svg = profile::renderFlameGraph(stacks(nasty));
  CHECK(svg.find("<script>alert") == std::string::npos);
  CHECK(svg.find("&lt;script&gt;alert(1)&lt;/script&gt;") != std::string::npos);
  CHECK(svg.find("caf\xc3\xa9") != std::string::npos);  // valid UTF-8 kept
  test::TempDir dir;
  const auto path = dir.write("g.svg", svg);
  const auto python = test::findProgram("python3");
  if (!test::needComponent(!python.empty(), "python3, for the XML parser check (scripts/bootstrap installs it)")) {
    return;
  }
  const auto r = test::ChildProcess::run(
      {python, "-c", "import sys, xml.dom.minidom; xml.dom.minidom.parse(sys.argv[1]); print('well-formed')",
       path.string()});
  CHECK_MESSAGE(r.exit_code == 0, r.output);
  CHECK(r.output.find("well-formed") != std::string::npos);
}

TEST_CASE("frames narrower than 0.1 px are left out, with their subtree") {
  const std::string svg = profile::renderFlameGraph(stacks("main;big 100000\nmain;tiny;tinier 1\n"));
  CHECK(!frameOf(svg, "big").empty());
  CHECK(frameOf(svg, "tiny").empty());
  CHECK(frameOf(svg, "tinier").empty());
}

TEST_CASE("differential graphs colour what grew red and what shrank blue, by share of samples") {
  const auto base = stacks("main;parse 50\nmain;render 50\nmain;steady 100\n");
  const auto now = stacks("main;parse 10\nmain;render 190\nmain;steady 200\n");  // totals differ: shares count
  const std::string svg = profile::renderDiffFlameGraph(base, now);
  const auto render = frameOf(svg, "render"), parse = frameOf(svg, "parse"), steady = frameOf(svg, "steady");
  CHECK(fill(render) == "#ff0000");  // the strongest change, full red
  CHECK(fill(parse).substr(5) == "ff");  // blue
  CHECK(fill(parse).substr(1, 2) != "ff");
  CHECK(fill(steady) == "#ffffff");  // 50% before, 50% now
  CHECK(render.find("47.50%; was 25.00%, +22.50 pp") != std::string::npos);
}
