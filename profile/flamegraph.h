// DESIGN
// Flame graphs as standalone SVG files: a frame's width is its share of the samples, its children sit on top of
// it in name order, colours come from a hash of the name (so a function keeps its colour from one graph to the
// next) with a hue for the kind of frame (kernel `_[k]`, JIT `_[j]`, inlined `_[i]`, off-CPU `_[o]` in blue). Hovering
// shows the frame's samples and percentage (an SVG <title>, plus a details line); clicking zooms into a frame (its
// ancestors stay, greyed, full width), "Reset Zoom" goes back; "Search" takes a regular expression, highlights the
// matching frames and shows the share of samples they cover (nested matches counted once). The script is embedded and
// reads frame names only as text, so a frame named `<script>` is text in an escaped title, never markup.
//
// Frames narrower than `min_width` pixels are left out with their subtree, as flamegraph.pl does by default
// (0.1 px), which bounds the file by the width, not by the number of stacks.
//
// Differential graphs: the new profile's graph, each frame coloured by how its share of samples moved against
// the base profile (both normalised by their sample totals): red grew, blue shrank, white unchanged, the
// strongest change at full saturation. Tooltips give both shares. Pure; any thread.
#pragma once

#include <string>

#include "profile/folded.h"

namespace hotspotd::profile {

struct FlameGraphOptions {
  std::string title = "Flame Graph";
  std::string subtitle;          // e.g. the target, pid and time of the capture
  int width = 1200;              // pixels
  int frame_height = 16;         // pixels
  double font_size = 12;         // pixels
  double min_width = 0.1;        // pixels: narrower frames are left out
  std::string unit = "samples";  // what a count is
};

std::string renderFlameGraph(const FoldedStacks& stacks, const FlameGraphOptions& options = {});
std::string renderDiffFlameGraph(const FoldedStacks& base, const FoldedStacks& now,
                                 const FlameGraphOptions& options = {});

// Escapes text for XML character data and attribute values; control characters XML cannot hold become '?'.
void appendXmlEscaped(std::string& out, std::string_view text);

}  // namespace hotspotd::profile
