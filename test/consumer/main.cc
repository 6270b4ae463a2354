// Built against the installed package by `tools/snow test`, the way a user would build:
// exits 0 when an actor ran and answered, and a wire struct made the round trip through bytes.
#include <cstdio>
#include <string>

#include "snow/core/snow.h"
#include "snow/wire/wire.h"

struct Order {
  std::string item;
  int64_t quantity = 0;
  static constexpr snow::wire::Struct kWire{"consumer.Order", "item", "quantity"};
};

snow::Task<absl::Status> Doubler(snow::Self self) {
  auto [from, n] = co_await self.Receive<std::pair<snow::Pid, int>>();
  self.Send(from, 2 * n);
  co_return absl::OkStatus();
}

snow::Task<absl::Status> Main(snow::Self self) {
  snow::Pid doubler = self.Spawn(Doubler);
  self.Send(doubler, std::pair{self.pid(), 21});
  absl::StatusOr<int> answer = co_await self.ReceiveFor<int>(absl::Seconds(5));
  if (!answer.ok()) co_return answer.status();
  std::printf("consumer: the doubler answered %d\n", *answer);
  if (*answer != 42) co_return absl::InternalError("wrong answer");

  snow::wire::ByteBuffer bytes;
  SNOW_CO_RETURN_IF_ERROR(snow::wire::Encode(Order{"snowshoes", 2}, bytes));
  absl::StatusOr<Order> order = snow::wire::Decode<Order>(bytes);
  if (!order.ok()) co_return order.status();
  std::printf("consumer: %s x%lld made the trip through %zu STF bytes\n", order->item.c_str(),
              static_cast<long long>(order->quantity), bytes.size());
  co_return order->item == "snowshoes" && order->quantity == 2
      ? absl::OkStatus()
      : absl::InternalError("wire round trip changed the order");
}

int main(int argc, char** argv) {
  return snow::Run(snow::RuntimeOptions::FromArgs(argc, argv), Main);
}
