// check_snippets: keeps the code in the guide compiled. Every ```cpp block of the Markdown files
// given must be preceded by a marker naming the region of a source file it shows:
//
//   <!-- snippet: tools/examples/hello.cc#main -->
//   ```cpp
//   ...the lines between `// [snippet main]` and `// [end main]` in that file...
//   ```
//
// The source files are built (and the examples run) by the test command, so a block that
// matches its region is code that compiles. Indentation common to all lines is ignored on
// both sides, and so are the marker lines of other regions nested inside the region (a short
// excerpt of a longer example is a region within the example's region). Blocks of another
// language (```sh, ```cmake, ```text) are not checked. Exit code 0 when every block matches;
// otherwise each mismatch is printed and the exit code is 1.
//
//   check_snippets ROOT FILE.md...
#include <algorithm>
#include <cstdio>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

namespace {

std::optional<std::vector<std::string>> ReadLines(const std::string& path) {
  std::ifstream in(path);
  if (!in) return std::nullopt;
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

std::string Trim(const std::string& s) {
  size_t begin = s.find_first_not_of(" \t");
  if (begin == std::string::npos) return "";
  size_t end = s.find_last_not_of(" \t");
  return s.substr(begin, end - begin + 1);
}

// Removes the indentation all non-blank lines share, and trailing blanks.
std::vector<std::string> Dedent(std::vector<std::string> lines) {
  size_t common = std::string::npos;
  for (const std::string& line : lines) {
    size_t indent = line.find_first_not_of(' ');
    if (indent != std::string::npos) common = std::min(common, indent);
  }
  for (std::string& line : lines) {
    if (common != std::string::npos && line.size() >= common) line.erase(0, common);
    while (!line.empty() && line.back() == ' ') line.pop_back();
  }
  while (!lines.empty() && lines.back().empty()) lines.pop_back();
  return lines;
}

// The lines between `// [snippet NAME]` and `// [end NAME]`, or an error.
std::optional<std::vector<std::string>> Region(const std::vector<std::string>& file,
                                               const std::string& name, std::string* error) {
  const std::string begin = "// [snippet " + name + "]";
  const std::string end = "// [end " + name + "]";
  auto first = std::find_if(file.begin(), file.end(),
                            [&](const std::string& l) { return Trim(l) == begin; });
  if (first == file.end()) {
    *error = "no line \"" + begin + "\"";
    return std::nullopt;
  }
  auto last =
      std::find_if(first + 1, file.end(), [&](const std::string& l) { return Trim(l) == end; });
  if (last == file.end()) {
    *error = "no line \"" + end + "\" after \"" + begin + "\"";
    return std::nullopt;
  }
  // Markers of other regions nested in this one are not part of what the guide shows.
  std::vector<std::string> region;
  for (auto line = first + 1; line != last; ++line) {
    std::string t = Trim(*line);
    bool marker = (t.starts_with("// [snippet ") || t.starts_with("// [end ")) && t.ends_with("]");
    if (!marker) region.push_back(*line);
  }
  return region;
}

int CheckFile(const std::string& root, const std::string& markdown, int* checked) {
  std::optional<std::vector<std::string>> lines = ReadLines(markdown);
  if (!lines) {
    std::fprintf(stderr, "%s: cannot read\n", markdown.c_str());
    return 1;
  }
  int failures = 0;
  std::string marker;  // the snippet marker just before the current block
  for (size_t i = 0; i < lines->size(); ++i) {
    std::string line = Trim((*lines)[i]);
    if (line.starts_with("<!-- snippet:") && line.ends_with("-->")) {
      marker = Trim(line.substr(13, line.size() - 13 - 3));
      continue;
    }
    if (line != "```cpp" && line != "```c++") {
      if (!line.empty() && !line.starts_with("```")) marker.clear();
      if (line.starts_with("```")) {
        // A block of another language: skip it whole.
        for (++i; i < lines->size() && Trim((*lines)[i]) != "```"; ++i) {
        }
      }
      continue;
    }
    size_t block_line = i + 1;
    std::vector<std::string> block;
    for (++i; i < lines->size() && Trim((*lines)[i]) != "```"; ++i) block.push_back((*lines)[i]);
    auto fail = [&](const std::string& why) {
      std::fprintf(stderr, "%s:%zu: %s\n", markdown.c_str(), block_line, why.c_str());
      ++failures;
    };
    if (marker.empty()) {
      fail("a C++ block without a <!-- snippet: FILE#NAME --> marker before it");
      continue;
    }
    size_t hash = marker.find('#');
    if (hash == std::string::npos) {
      fail("the snippet marker needs FILE#NAME: " + marker);
      continue;
    }
    std::string source = marker.substr(0, hash);
    std::optional<std::vector<std::string>> file = ReadLines(root + "/" + source);
    if (!file) {
      fail("cannot read " + source);
      continue;
    }
    std::string error;
    std::optional<std::vector<std::string>> region = Region(*file, marker.substr(hash + 1), &error);
    if (!region) {
      fail(source + ": " + error);
      continue;
    }
    std::vector<std::string> want = Dedent(*region);
    std::vector<std::string> have = Dedent(block);
    ++*checked;
    for (size_t k = 0; k < std::max(want.size(), have.size()); ++k) {
      std::string w = k < want.size() ? want[k] : "<end of region>";
      std::string h = k < have.size() ? have[k] : "<end of block>";
      if (w != h) {
        fail("differs from " + marker + " at its line " + std::to_string(k + 1) +
             ":\n  source:   " + w + "\n  markdown: " + h);
        break;
      }
    }
    marker.clear();
  }
  return failures;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc >= 2 && (std::string(argv[1]) == "--help" || std::string(argv[1]) == "-h")) {
    std::printf("usage: check_snippets ROOT FILE.md...\n");
    return 0;
  }
  if (argc < 3) {
    std::fprintf(stderr, "usage: check_snippets ROOT FILE.md...\n");
    return 2;
  }
  int failures = 0;
  int checked = 0;
  for (int i = 2; i < argc; ++i) failures += CheckFile(argv[1], argv[i], &checked);
  std::printf("check_snippets: %d code blocks match their compiled source, %d do not\n", checked,
              failures);
  return failures == 0 ? 0 : 1;
}
