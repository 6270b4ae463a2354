// The code of docs/pitfalls.md. Every BAD form compiles (that is the point of the page) but is
// never called: each would crash, dangle, stall its shard or, with one compiler, free memory
// twice. main runs the GOOD forms only.
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "snow/core/snow.h"

using snow::Pid;
using snow::Self;
using snow::Task;

namespace {

// --- An aggregate built inside a co_await expression (g++ 12) ---

struct Order {
  std::string item;
  int quantity = 1;
};

Task<absl::StatusOr<size_t>> Place(Order order) {
  co_await snow::Yield();
  co_return order.item.size() * static_cast<size_t>(order.quantity);
}

[[maybe_unused]] Task<absl::Status> PlaceBad() {
  // [snippet braced_bad]
  // BAD: crashes with g++ 12 (double free of the string's buffer)
  absl::StatusOr<size_t> placed = co_await Place(Order{.item = "long enough to be on the heap"});
  // [end braced_bad]
  co_return placed.status();
}

Task<absl::Status> PlaceGood() {
  // [snippet braced_good]
  // GOOD: build it in a named local, then move it in
  Order order{.item = "long enough to be on the heap"};
  absl::StatusOr<size_t> placed = co_await Place(std::move(order));
  // [end braced_good]
  co_return placed.status();
}

Task<absl::Status> PlaceWithMacro() {
  Order order{.item = "long enough to be on the heap"};
  // [snippet braced_macro]
  SNOW_CO_ASSIGN_OR_RETURN(size_t placed, co_await Place(std::move(order)));
  // [end braced_macro]
  (void)placed;
  co_return absl::OkStatus();
}

// --- Coroutine lifetimes: references to what the caller owned ---

// [snippet lifetime_bad]
// BAD: a coroutine that takes a reference. The Task is lazy: nothing runs until it is
// awaited, and by then the temporary string the reference was bound to is gone.
Task<size_t> CountBad(const std::string& text) {
  co_await snow::Yield();
  co_return text.size();
}

Task<absl::Status> UseCountBad(std::string name) {
  Task<size_t> counting = CountBad("hello, " + name);  // the temporary dies here
  size_t n = co_await std::move(counting);             // reads freed memory
  std::printf("%zu\n", n);
  co_return absl::OkStatus();
}
// [end lifetime_bad]

// [snippet lifetime_good]
// GOOD: coroutine parameters are values; the string is moved into the coroutine's frame.
Task<size_t> CountGood(std::string text) {
  co_await snow::Yield();
  co_return text.size();
}

Task<absl::Status> UseCountGood(std::string name) {
  Task<size_t> counting = CountGood("hello, " + name);
  size_t n = co_await std::move(counting);
  std::printf("counted %zu characters\n", n);
  co_return absl::OkStatus();
}
// [end lifetime_good]

// [snippet view_bad]
// BAD: a view kept across a suspension. `names` may change while this coroutine waits (a
// TaskGroup sibling appends to it), and the view then points into a freed buffer.
Task<absl::Status> GreetLastBad(std::vector<std::string>* names) {
  std::string_view last = names->back();
  co_await snow::Sleep(absl::Milliseconds(1));
  std::printf("hello, %.*s\n", static_cast<int>(last.size()), last.data());
  co_return absl::OkStatus();
}
// [end view_bad]

// [snippet view_good]
// GOOD: copy what must survive the co_await into a value the coroutine owns.
Task<absl::Status> GreetLastGood(std::shared_ptr<std::vector<std::string>> names) {
  std::string last = names->back();
  co_await snow::Sleep(absl::Milliseconds(1));
  std::printf("hello, %s\n", last.c_str());
  co_return absl::OkStatus();
}
// [end view_good]

// [snippet lambda_bad]
// BAD: a capturing lambda coroutine. The closure object (which holds `n`) is a temporary
// destroyed at the end of the statement; the coroutine reads `n` through it later.
Task<absl::Status> StartLambdaBad(int n) {
  snow::TaskGroup group;
  group.Start([n]() -> Task<absl::Status> {
    co_await snow::Yield();
    std::printf("%d\n", n);  // reads the destroyed closure
    co_return absl::OkStatus();
  }());
  absl::Status joined = co_await group.Join();
  co_return joined;
}
// [end lambda_bad]

// [snippet lambda_good]
// GOOD: a named coroutine function; its arguments are copied into its frame.
Task<absl::Status> PrintLater(int n) {
  co_await snow::Yield();
  std::printf("printed later: %d\n", n);
  co_return absl::OkStatus();
}

Task<absl::Status> StartGood(int n) {
  snow::TaskGroup group;
  group.Start(PrintLater(n));
  absl::Status joined = co_await group.Join();
  co_return joined;
}
// [end lambda_good]

// --- Parameters of spawned functions ---

// [snippet spawn_good]
struct Config {
  std::string greeting;
};

// By value: the actor gets its own copy (or the moved original).
Task<absl::Status> Greeter(Self, std::string name) {
  std::printf("hello, %s\n", name.c_str());
  co_return absl::OkStatus();
}

// Shared and immutable: many actors read one object, which lives as long as any of them.
Task<absl::Status> ConfiguredGreeter(Self, std::shared_ptr<const Config> config) {
  std::printf("%s\n", config->greeting.c_str());
  co_return absl::OkStatus();
}

// std::reference_wrapper: an explicit promise that `total` outlives the actor. Only for
// objects on the same shard that provably do (here: the spawner waits for the actor to end).
Task<absl::Status> Adder(Self, std::reference_wrapper<int> total, int n) {
  total.get() += n;
  co_return absl::OkStatus();
}

Task<absl::Status> SpawnGood(Self self) {
  self.Spawn(Greeter, std::string("world"));
  auto config = std::make_shared<const Config>(Config{"hello from a shared config"});
  self.Spawn(ConfiguredGreeter, config);
  int total = 0;
  snow::SpawnedMonitor adder = self.SpawnMonitor(Adder, std::ref(total), 42);
  snow::Down down = co_await self.Receive<snow::Down>();  // Adder has ended
  std::printf("total = %d (%s)\n", total, adder.pid == down.pid ? "same actor" : "?");
  co_return absl::OkStatus();
}
// [end spawn_good]

// --- Blocking a shard ---

// [snippet blocking_bad]
// BAD: blocking calls stop the whole shard: every actor on it waits, timers fire late, and
// io_uring completions pile up.
Task<absl::Status> PollerBad(Self self, int fd) {
  for (;;) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));  // the shard sleeps
    char byte;
    ssize_t n = ::read(fd, &byte, 1);  // the shard waits for the kernel
    if (n <= 0) co_return absl::OkStatus();
    self.Send(self.pid(), byte);
  }
}
// [end blocking_bad]

// [snippet blocking_good]
// GOOD: Sleep suspends only this actor; the shard runs others meanwhile. For sockets, use
// net/'s TcpStream (ReadSome, ReadExactly, WriteAll), which suspend the same way.
Task<absl::Status> TickerGood(Self self, int ticks) {
  for (int i = 0; i < ticks; ++i) {
    co_await snow::Sleep(absl::Milliseconds(1));
  }
  std::printf("%d ticks on shard %u\n", ticks, self.shard());
  co_return absl::OkStatus();
}
// [end blocking_good]

// --- Unbounded mailboxes ---

struct Item {
  Pid from;
  int n = 0;
};
struct Ack {
  int received = 0;
};
struct End {};

// [snippet mailbox_bad]
// BAD: the producer never waits. If the consumer is slower, its mailbox grows without bound
// (every message is a heap allocation) until the process runs out of memory.
Task<absl::Status> ProducerBad(Self self, Pid consumer) {
  for (int n = 0;; ++n) self.Send(consumer, Item{self.pid(), n});
  co_return absl::OkStatus();
}
// [end mailbox_bad]

// [snippet mailbox_good]
// GOOD: credits. The consumer acknowledges every kBatch items; the producer keeps at most
// kWindow items unacknowledged, so the consumer's mailbox never holds more than kWindow.
constexpr int kBatch = 100;
constexpr int kWindow = 4 * kBatch;

Task<absl::Status> Consumer(Self self) {
  int received = 0;
  for (;;) {
    auto m = co_await self.Receive<Item, End>();
    if (std::holds_alternative<End>(m)) co_return absl::OkStatus();
    Item item = std::get<Item>(m);
    if (++received % kBatch == 0) self.Send(item.from, Ack{received});
  }
}

Task<absl::Status> Producer(Self self, Pid consumer, int count) {
  int acked = 0;
  for (int n = 0; n < count; ++n) {
    while (n - acked >= kWindow) {  // the window is full: wait for credit
      absl::StatusOr<Ack> ack = co_await self.ReceiveFor<Ack>(absl::Seconds(5));
      if (!ack.ok()) co_return ack.status();
      acked = ack->received;
    }
    self.Send(consumer, Item{self.pid(), n});
  }
  self.Send(consumer, End{});
  co_return absl::OkStatus();
}
// [end mailbox_good]

// --- One co_await per statement ---

Task<int> Fetch(int n) {
  co_await snow::Yield();
  co_return n;
}

[[maybe_unused]] Task<int> CombineBad(bool first) {
  // [snippet await_bad]
  // BAD: two co_awaits in one statement, and a co_await inside ?:
  int sum = co_await Fetch(1) + co_await Fetch(2);
  int chosen = first ? co_await Fetch(3) : co_await Fetch(4);
  // [end await_bad]
  co_return sum + chosen;
}

Task<int> CombineGood(bool first) {
  // [snippet await_good]
  // GOOD: one co_await per statement, its result in a named local.
  int a = co_await Fetch(1);
  int b = co_await Fetch(2);
  int sum = a + b;
  int chosen = 0;
  if (first) {
    chosen = co_await Fetch(3);
  } else {
    chosen = co_await Fetch(4);
  }
  int c = co_await Fetch(5);
  int d = co_await Fetch(6);
  std::vector<int> both{c, d};
  // [end await_good]
  co_return sum + chosen + static_cast<int>(both.size());
}

Task<absl::Status> Main(Self self) {
  SNOW_CO_RETURN_IF_ERROR(co_await PlaceGood());
  SNOW_CO_RETURN_IF_ERROR(co_await PlaceWithMacro());
  SNOW_CO_RETURN_IF_ERROR(co_await UseCountGood("world"));
  auto names = std::make_shared<std::vector<std::string>>(std::vector<std::string>{"ada"});
  SNOW_CO_RETURN_IF_ERROR(co_await GreetLastGood(names));
  SNOW_CO_RETURN_IF_ERROR(co_await StartGood(7));
  SNOW_CO_RETURN_IF_ERROR(co_await SpawnGood(self));
  SNOW_CO_RETURN_IF_ERROR(co_await TickerGood(self, 5));
  Pid consumer = self.Spawn(Consumer);
  SNOW_CO_RETURN_IF_ERROR(co_await Producer(self, consumer, 10000));
  std::printf("10000 items sent with at most %d in flight\n", kWindow);
  int combined = co_await CombineGood(true);
  std::printf("combined: %d\n", combined);
  // The BAD forms are compiled, never run.
  (void)&UseCountBad;
  (void)&GreetLastBad;
  (void)&StartLambdaBad;
  (void)&PollerBad;
  (void)&ProducerBad;
  co_return absl::OkStatus();
}

}  // namespace

int main(int argc, char** argv) {
  return snow::Run(snow::RuntimeOptions::FromArgs(argc, argv), Main);
}
