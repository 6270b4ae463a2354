#include "snow/core/pid.h"

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "snow/core/status.h"

namespace snow {

std::string Pid::ToString() const {
  return absl::StrCat("<", node(), ".", shard(), ".", serial(), ">");
}

absl::StatusOr<Pid> Pid::Parse(std::string_view text) {
  auto bad = [&](std::string_view why) {
    return absl::InvalidArgumentError(
        absl::StrCat("bad PID \"", AbslView(text), "\": ", AbslView(why)));
  };
  if (text.size() < 7 || text.front() != '<' || text.back() != '>') {
    return bad("expected <node.shard.serial>");
  }
  std::vector<absl::string_view> parts =
      absl::StrSplit(AbslView(text.substr(1, text.size() - 2)), '.');
  if (parts.size() != 3) return bad("expected three dot-separated numbers");
  uint64_t node = 0, shard = 0, serial = 0;
  for (absl::string_view part : parts) {
    if (part.empty() || part.front() == '+' || part.front() == '-') return bad("not a number");
  }
  if (!absl::SimpleAtoi(parts[0], &node) || !absl::SimpleAtoi(parts[1], &shard) ||
      !absl::SimpleAtoi(parts[2], &serial)) {
    return bad("not a number");
  }
  if (node >= kMaxNodes) return bad("node slot out of range");
  if (shard >= kMaxShards) return bad("shard out of range");
  if (serial > kMaxSerial) return bad("serial out of range");
  return FromParts(static_cast<uint32_t>(node), static_cast<ShardId>(shard), serial);
}

}  // namespace snow
