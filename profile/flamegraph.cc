#include "profile/flamegraph.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <unordered_map>
#include <vector>

#include <fmt/format.h>

#include "core/hash.h"

namespace hotspotd::profile {
namespace {

constexpr std::uint32_t kNone = 0xFFFFFFFF;

// The merged call tree of a profile: one node per distinct path, root ("all") at index 0.
struct Tree {
  struct Node {
    std::string_view name;
    std::uint32_t parent = kNone;
    std::uint32_t depth = 0;
    std::uint64_t total = 0;
    double base = 0;  // differential: the base profile's samples on this path
  };
  struct Key {
    std::uint32_t parent;
    std::string_view name;
    bool operator==(const Key& o) const { return parent == o.parent && name == o.name; }
  };
  struct KeyHash {
    std::size_t operator()(const Key& k) const { return hashBytes(k.name, k.parent * 0x9E3779B97F4A7C15ULL + 1); }
  };

  std::vector<Node> nodes;
  std::unordered_map<Key, std::uint32_t, KeyHash> index;
  std::vector<std::uint32_t> child_start;  // children of node i: children[child_start[i] .. child_start[i + 1])
  std::vector<std::uint32_t> children;
  std::uint32_t max_depth = 0;

  explicit Tree(const FoldedStacks& stacks) {
    nodes.push_back(Node{"all", kNone, 0, 0, 0});
    // Stacks in frame order (as if ';' sorted before every other byte): a node's subtree is then one run of
    // stacks, each node is made once, when its first stack comes, and children come in name order.
    std::vector<std::pair<std::string_view, std::uint64_t>> rows;
    rows.reserve(stacks.size());
    stacks.forEach([&](std::string_view stack, std::uint64_t count) { rows.emplace_back(stack, count); });
    std::sort(rows.begin(), rows.end(), [](const auto& a, const auto& b) { return frameLess(a.first, b.first); });
    std::vector<std::uint32_t> path;         // the previous stack's nodes, by depth
    std::vector<std::string_view> previous;  // and its frames
    std::vector<std::string_view> frames;
    for (const auto& [stack, count] : rows) {
      frames.clear();
      forEachFrame(stack, [&](std::string_view f) { frames.push_back(f); });
      std::size_t same = 0;
      while (same < frames.size() && same < previous.size() && frames[same] == previous[same]) ++same;
      path.resize(same);
      for (std::size_t d = same; d < frames.size(); ++d) {
        const std::uint32_t parent = d == 0 ? 0 : path[d - 1];
        path.push_back(static_cast<std::uint32_t>(nodes.size()));
        nodes.push_back(Node{frames[d], parent, static_cast<std::uint32_t>(d + 1), 0, 0});
        max_depth = std::max(max_depth, static_cast<std::uint32_t>(d + 1));
      }
      nodes[0].total = saturatingAdd(nodes[0].total, count);
      for (std::uint32_t id : path) nodes[id].total = saturatingAdd(nodes[id].total, count);
      previous.swap(frames);
    }
    // Children by parent (a stable counting sort keeps them in name order).
    child_start.assign(nodes.size() + 1, 0);
    for (std::size_t i = 1; i < nodes.size(); ++i) ++child_start[nodes[i].parent + 1];
    for (std::size_t i = 1; i < child_start.size(); ++i) child_start[i] += child_start[i - 1];
    children.resize(nodes.size() - 1);
    std::vector<std::uint32_t> fill(child_start.begin(), child_start.end() - 1);
    for (std::uint32_t i = 1; i < nodes.size(); ++i) children[fill[nodes[i].parent]++] = i;
  }

  // Byte order, with the frame separator first: "a;b" < "a.b" < "a;" ... as frames compare.
  static bool frameLess(std::string_view a, std::string_view b) {
    const std::size_t n = std::min(a.size(), b.size());
    for (std::size_t i = 0; i < n; ++i) {
      if (a[i] == b[i]) continue;
      if (a[i] == ';') return true;
      if (b[i] == ';') return false;
      return static_cast<unsigned char>(a[i]) < static_cast<unsigned char>(b[i]);
    }
    return a.size() < b.size();
  }

  // The node of each (parent, name), for following another profile's paths.
  void buildIndex() {
    index.reserve(nodes.size());
    for (std::uint32_t i = 1; i < nodes.size(); ++i) index.emplace(Key{nodes[i].parent, nodes[i].name}, i);
  }

  // Adds another profile's samples to the nodes on the paths this tree has.
  void addBase(const FoldedStacks& base) {
    base.forEach([&](std::string_view stack, std::uint64_t count) {
      std::uint32_t at = 0;
      nodes[0].base += static_cast<double>(count);
      bool on_tree = true;
      forEachFrame(stack, [&](std::string_view frame) {
        if (!on_tree) return;
        auto it = index.find(Key{at, frame});
        if (it == index.end()) {
          on_tree = false;  // a path the new profile does not have: nothing to colour
          return;
        }
        at = it->second;
        nodes[at].base += static_cast<double>(count);
      });
    });
  }

  template <typename F>
  static void forEachFrame(std::string_view stack, F&& f) {
    std::size_t pos = 0;
    while (pos <= stack.size()) {
      std::size_t semi = stack.find(';', pos);
      if (semi == std::string_view::npos) semi = stack.size();
      f(stack.substr(pos, semi - pos));
      pos = semi + 1;
    }
  }
};

std::string formatCount(std::uint64_t v) {
  std::string digits = std::to_string(v), out;
  for (std::size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return out;
}

// Colours from the name, stable across graphs: warm for code, other hues for kernel, JIT, inlined and off-CPU
// frames.
std::string frameColour(std::string_view name) {
  const std::uint64_t h = hashBytes(name);
  const double v1 = static_cast<double>(h & 0xFFFF) / 65536.0;
  const double v2 = static_cast<double>((h >> 16) & 0xFFFF) / 65536.0;
  const double v3 = static_cast<double>((h >> 32) & 0xFFFF) / 65536.0;
  int r, g, b;
  if (name.ends_with("_[k]")) {  // kernel: orange
    r = 205 + static_cast<int>(50 * v3);
    g = 100 + static_cast<int>(60 * v1);
    b = static_cast<int>(30 * v2);
  } else if (name.ends_with("_[j]")) {  // JIT: green
    r = static_cast<int>(80 * v1);
    g = 170 + static_cast<int>(70 * v3);
    b = static_cast<int>(80 * v2);
  } else if (name.ends_with("_[o]")) {  // off-CPU (waiting): blue
    r = 80 + static_cast<int>(60 * v1);
    g = 80 + static_cast<int>(60 * v1);
    b = 190 + static_cast<int>(55 * v2);
  } else if (name.ends_with("_[i]")) {  // inlined: aqua
    r = static_cast<int>(60 * v1);
    g = 180 + static_cast<int>(60 * v3);
    b = 180 + static_cast<int>(60 * v2);
  } else {  // hot
    r = 205 + static_cast<int>(50 * v3);
    g = static_cast<int>(230 * v1);
    b = static_cast<int>(55 * v2);
  }
  return fmt::format("#{:02x}{:02x}{:02x}", r, g, b);
}

std::string diffColour(double delta, double max_delta) {
  if (max_delta <= 0 || delta == 0) return "#ffffff";
  const double v = std::min(1.0, std::fabs(delta) / max_delta);
  const int fade = static_cast<int>(std::lround(255 * (1 - v)));
  return delta > 0 ? fmt::format("#ff{:02x}{:02x}", fade, fade) : fmt::format("#{:02x}{:02x}ff", fade, fade);
}

// The interactive part: zoom, reset, search with the matched share, the details line. Frame names are read as
// text (textContent) only.
constexpr std::string_view kScript = R"JS(
"use strict";
var svg = document.documentElement, frames = [], total_w, xpad = 10, zoomed = null;
var details = document.getElementById("details"), reset = document.getElementById("reset");
var matched = document.getElementById("matched"), fw = +svg.getAttribute("data-fontwidth");
function nameOf(g) { var t = g.firstElementChild.textContent; var i = t.lastIndexOf(" ("); return i < 0 ? t : t.slice(0, i); }
function fit(f, w) {
  if (!f.text) return;
  var chars = Math.floor(w / fw);
  f.text.textContent = chars < 3 ? "" : (f.name.length <= chars ? f.name : f.name.slice(0, chars - 2) + "..");
}
function place(f, x, w) {
  f.rect.setAttribute("x", x.toFixed(1)); f.rect.setAttribute("width", w.toFixed(1));
  if (f.text) { f.text.setAttribute("x", (x + 3).toFixed(1)); fit(f, w - 3); }
}
function init() {
  var gs = document.querySelectorAll("g.f");
  for (var i = 0; i < gs.length; i++) {
    var g = gs[i], rect = g.querySelector("rect"), text = g.querySelector("text");
    var f = {g: g, rect: rect, text: text, name: nameOf(g), x: +rect.getAttribute("x"),
             w: +rect.getAttribute("width"), y: +rect.getAttribute("y"), fill: rect.getAttribute("fill")};
    frames.push(f); g.frame = f;
    g.addEventListener("mouseover", function () { details.textContent = this.firstElementChild.textContent; });
    g.addEventListener("mouseout", function () { details.textContent = " "; });
    g.addEventListener("click", function () { zoom(this.frame); });
  }
  total_w = +svg.getAttribute("width") - 2 * xpad;
  reset.addEventListener("click", unzoom);
  document.getElementById("search").addEventListener("click", searchPrompt);
  window.addEventListener("keydown", function (e) {
    if ((e.ctrlKey || e.metaKey) && e.key === "f") { e.preventDefault(); searchPrompt(); }
    if (e.key === "Escape") { unzoom(); search(""); }
  });
}
function zoom(z) {
  zoomed = z; reset.style.display = "";
  var scale = total_w / z.w;
  frames.forEach(function (f) {
    if (f.y <= z.y && f.x >= z.x - 1e-6 && f.x + f.w <= z.x + z.w + 1e-6) {
      f.g.style.display = ""; f.g.style.opacity = ""; place(f, xpad + (f.x - z.x) * scale, f.w * scale);
    } else if (f.y > z.y && f.x <= z.x + 1e-6 && f.x + f.w >= z.x + z.w - 1e-6) {
      f.g.style.display = ""; f.g.style.opacity = "0.5"; place(f, xpad, total_w);
    } else {
      f.g.style.display = "none";
    }
  });
}
function unzoom() {
  zoomed = null; reset.style.display = "none";
  frames.forEach(function (f) { f.g.style.display = ""; f.g.style.opacity = ""; place(f, f.x, f.w); });
}
function searchPrompt() {
  var term = prompt("Search for frames matching (a regular expression):", "");
  if (term !== null) search(term);
}
function search(term) {
  var re = null;
  if (term) { try { re = new RegExp(term); } catch (err) { matched.textContent = "Invalid expression"; return; } }
  var spans = [];
  frames.forEach(function (f) {
    var hit = re !== null && re.test(f.name);
    f.rect.setAttribute("fill", hit ? "rgb(230,0,230)" : f.fill);
    if (hit) spans.push([f.x, f.x + f.w]);
  });
  spans.sort(function (a, b) { return a[0] - b[0]; });
  var covered = 0, end = -1;
  spans.forEach(function (s) {
    if (s[0] >= end) { covered += s[1] - s[0]; end = s[1]; }
    else if (s[1] > end) { covered += s[1] - end; end = s[1]; }
  });
  matched.textContent = re === null ? " " : "Matched: " + (100 * covered / total_w).toFixed(2) + "%";
  svg.setAttribute("data-matched", re === null ? "" : (100 * covered / total_w).toFixed(2));
}
init();
)JS";

struct Layout {
  const FlameGraphOptions& o;
  double height;
  double ypad1, ypad2;
  double per_sample;
  double min_samples;
};

void renderNodes(std::string& out, const Tree& tree, const Layout& l, bool diff, double base_total, double now_total,
                 double max_delta) {
  // Depth-first, children in name order, x from the left edge of the parent.
  struct Item {
    std::uint32_t node;
    double x;
  };
  std::vector<Item> work{{0, 10.0}};
  const double font_width = l.o.font_size * 0.59;
  while (!work.empty()) {
    const Item item = work.back();
    work.pop_back();
    const Tree::Node& n = tree.nodes[item.node];
    const double w = static_cast<double>(n.total) * l.per_sample;
    const double y = l.height - l.ypad2 - (n.depth + 1) * l.o.frame_height + 1;
    const double h = l.o.frame_height - 1;
    const double share = now_total > 0 ? 100.0 * static_cast<double>(n.total) / now_total : 0;
    out += "<g class=\"f\"><title>";
    appendXmlEscaped(out, n.name);
    out += fmt::format(" ({} {}, {:.2f}%", formatCount(n.total), l.o.unit, share);
    std::string fill;
    if (diff) {
      const double was = base_total > 0 ? 100.0 * n.base / base_total : 0;
      out += fmt::format("; was {:.2f}%, {:+.2f} pp", was, share - was);
      fill = diffColour(share - was, max_delta);
    } else {
      fill = item.node == 0 ? std::string("#c8c8c8") : frameColour(n.name);
    }
    out += fmt::format(
        ")</title><rect x=\"{:.1f}\" y=\"{:.1f}\" width=\"{:.1f}\" height=\"{:.0f}\" fill=\"{}\" rx=\"2\"/>", item.x, y,
        w, h, fill);
    // Text only where at least three characters fit; the script re-fits it on zoom.
    const double room = (w - 3) / font_width;
    const std::size_t chars = room >= 3 ? static_cast<std::size_t>(std::min(room, 1e6)) : 0;
    if (chars >= 3) {
      out += fmt::format("<text x=\"{:.1f}\" y=\"{:.1f}\">", item.x + 3, y + h / 2 + l.o.font_size / 3);
      if (n.name.size() <= chars) {
        appendXmlEscaped(out, n.name);
      } else {
        appendXmlEscaped(out, n.name.substr(0, chars - 2));
        out += "..";
      }
      out += "</text>";
    }
    out += "</g>\n";
    // Children pushed right to left, so they come out left to right.
    const std::uint32_t from = tree.child_start[item.node], to = tree.child_start[item.node + 1];
    double x = item.x;
    std::vector<Item> kids;
    for (std::uint32_t c = from; c < to; ++c) {
      const std::uint32_t child = tree.children[c];
      const double cw = static_cast<double>(tree.nodes[child].total);
      if (cw >= l.min_samples) kids.push_back({child, x});
      x += cw * l.per_sample;
    }
    for (auto it = kids.rbegin(); it != kids.rend(); ++it) work.push_back(*it);
  }
}

std::string render(const Tree& tree, const FlameGraphOptions& o, bool diff, double base_total) {
  const double now_total = static_cast<double>(tree.nodes[0].total);
  Layout l{o, 0, o.font_size * 3, o.font_size * 2 + 10, 0, 0};
  // Only depths that hold a frame wide enough to draw count for the height.
  l.per_sample = now_total > 0 ? (o.width - 20.0) / now_total : 0;
  l.min_samples = l.per_sample > 0 ? o.min_width / l.per_sample : 0;
  std::uint32_t depth = 0;
  double max_delta = 0;
  for (const auto& n : tree.nodes) {
    if (static_cast<double>(n.total) < l.min_samples) continue;
    depth = std::max(depth, n.depth);
    if (diff && now_total > 0 && base_total > 0) {
      max_delta = std::max(max_delta,
                           std::fabs(100.0 * static_cast<double>(n.total) / now_total - 100.0 * n.base / base_total));
    }
  }
  l.height = (depth + 1) * o.frame_height + l.ypad1 + l.ypad2;

  std::string out;
  out.reserve(tree.nodes.size() * 160 + 8192);
  out += fmt::format(
      "<?xml version=\"1.0\" standalone=\"no\"?>\n"
      "<svg version=\"1.1\" width=\"{}\" height=\"{:.0f}\" viewBox=\"0 0 {} {:.0f}\" "
      "xmlns=\"http://www.w3.org/2000/svg\" data-fontwidth=\"{:.2f}\">\n",
      o.width, l.height, o.width, l.height, o.font_size * 0.59);
  out += fmt::format(
      "<style>text{{font-family:Verdana,sans-serif;font-size:{:.0f}px;fill:#000}}g.f:hover rect{{stroke:#000;"
      "stroke-width:0.5;cursor:pointer}}#title{{font-size:{:.0f}px;text-anchor:middle}}#search,#reset{{cursor:"
      "pointer}}#sub{{text-anchor:middle;fill:#555}}</style>\n",
      o.font_size, o.font_size + 5);
  out +=
      fmt::format("<rect x=\"0\" y=\"0\" width=\"100%\" height=\"100%\" fill=\"{}\"/>\n", diff ? "#f8f8f8" : "#fdf6e8");
  out += fmt::format("<text id=\"title\" x=\"{:.1f}\" y=\"{:.0f}\">", o.width / 2.0, o.font_size * 2);
  appendXmlEscaped(out, o.title);
  out += "</text>\n";
  if (!o.subtitle.empty()) {
    out += fmt::format("<text id=\"sub\" x=\"{:.1f}\" y=\"{:.0f}\">", o.width / 2.0, o.font_size * 2 + o.font_size + 4);
    appendXmlEscaped(out, o.subtitle);
    out += "</text>\n";
  }
  out += fmt::format("<text id=\"reset\" x=\"10\" y=\"{:.0f}\" style=\"display:none\">Reset Zoom</text>\n",
                     o.font_size * 2);
  out += fmt::format("<text id=\"search\" x=\"{:.0f}\" y=\"{:.0f}\">Search</text>\n", o.width - 70.0, o.font_size * 2);
  out += fmt::format("<text id=\"details\" x=\"10\" y=\"{:.0f}\"> </text>\n", l.height - 10);
  out += fmt::format("<text id=\"matched\" x=\"{:.0f}\" y=\"{:.0f}\"> </text>\n", o.width - 160.0, l.height - 10);
  if (now_total > 0) renderNodes(out, tree, l, diff, base_total, now_total, max_delta);
  out += "<script><![CDATA[";
  out += kScript;
  out += "]]></script>\n</svg>\n";
  return out;
}

}  // namespace

void appendXmlEscaped(std::string& out, std::string_view text) {
  const std::size_t n = text.size();
  for (std::size_t i = 0; i < n;) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c < 0x80) {
      switch (c) {
        case '&': out += "&amp;"; break;
        case '<': out += "&lt;"; break;
        case '>': out += "&gt;"; break;
        case '"': out += "&quot;"; break;
        case '\'': out += "&apos;"; break;
        default: out += (c < 0x20 && c != '\t') ? '?' : static_cast<char>(c);
      }
      ++i;
      continue;
    }
    // UTF-8 passes through when well formed; anything else would make the whole file unreadable, so it is '?'.
    const std::size_t len = c >= 0xF0 && c <= 0xF4 ? 4 : c >= 0xE0 ? 3 : c >= 0xC2 && c <= 0xDF ? 2 : 0;
    bool ok = len > 0 && i + len <= n;
    for (std::size_t k = 1; ok && k < len; ++k) ok = (static_cast<unsigned char>(text[i + k]) & 0xC0) == 0x80;
    if (ok && len == 3) {
      const auto c1 = static_cast<unsigned char>(text[i + 1]);
      ok = !(c == 0xE0 && c1 < 0xA0) && !(c == 0xED && c1 >= 0xA0);  // overlong, surrogates
    }
    if (ok && len == 4) {
      const auto c1 = static_cast<unsigned char>(text[i + 1]);
      ok = !(c == 0xF0 && c1 < 0x90) && !(c == 0xF4 && c1 >= 0x90);
    }
    if (ok) {
      out.append(text.data() + i, len);
      i += len;
    } else {
      out += '?';
      ++i;
    }
  }
}

std::string renderFlameGraph(const FoldedStacks& stacks, const FlameGraphOptions& options) {
  const Tree tree(stacks);
  return render(tree, options, false, 0);
}

std::string renderDiffFlameGraph(const FoldedStacks& base, const FoldedStacks& now, const FlameGraphOptions& options) {
  Tree tree(now);
  tree.buildIndex();
  tree.addBase(base);
  return render(tree, options, true, static_cast<double>(base.total()));
}

}  // namespace hotspotd::profile
