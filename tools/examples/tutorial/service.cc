// Tutorial, step 3: a service (gen_server). Call waits for a typed reply; Cast does not.
#include <cstdio>
#include <map>
#include <string>

#include "snow/core/snow.h"

using snow::Pid;
using snow::Self;
using snow::Task;

namespace {

// [snippet service]
// A request type names its reply type: the server cannot answer with the wrong one.
struct Lookup {
  using Reply = std::optional<int>;
  std::string word;
};
struct Count {  // one-way (Cast): no reply
  std::string word;
};
struct Stop {};

Task<absl::Status> WordCounter(Self self) {
  std::map<std::string, int> counts;
  for (;;) {
    auto m = co_await self.Receive<snow::Request<Lookup>, Count, Stop>();
    if (auto* lookup = std::get_if<snow::Request<Lookup>>(&m)) {
      auto it = counts.find(lookup->body.word);
      std::optional<int> found;
      if (it != counts.end()) found = it->second;
      snow::Reply(self, lookup->from, found);
    } else if (auto* count = std::get_if<Count>(&m)) {
      ++counts[count->word];
    } else {
      co_return absl::OkStatus();
    }
  }
}
// [end service]

// [snippet client]
Task<absl::Status> Main(Self self) {
  Pid counter = self.Spawn(WordCounter);
  for (std::string word : {"to", "be", "or", "not", "to", "be"}) {
    snow::Cast(self, counter, Count{word});
  }
  Lookup lookup{"be"};
  absl::StatusOr<std::optional<int>> be =
      co_await snow::Call(self, counter, std::move(lookup), absl::Seconds(1));
  if (!be.ok()) co_return be.status();
  std::printf("\"be\" was counted %d times\n", be->value_or(0));

  // A call to a server that has ended fails at once, with its exit reason or noproc.
  snow::Cast(self, counter, Stop{});
  Lookup late{"be"};
  absl::StatusOr<std::optional<int>> gone =
      co_await snow::Call(self, counter, std::move(late), absl::Seconds(1));
  std::printf("after Stop: %s\n", gone.status().ToString().c_str());
  co_return absl::OkStatus();
}
// [end client]

}  // namespace

int main(int argc, char** argv) {
  return snow::Run(snow::RuntimeOptions::FromArgs(argc, argv), Main);
}
