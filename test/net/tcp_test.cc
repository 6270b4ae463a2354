#include "snow/net/tcp.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <array>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "snow/core/snow.h"
#include "snow/test/testing/co_test.h"

namespace snow::net {
namespace {

using ::snow::testing::IsOk;
using ::snow::testing::RealRuntimeOptions;
using ::snow::testing::RunOnTestRuntime;
using ::snow::testing::StatusIs;

constexpr absl::Duration kTimeout = absl::Seconds(10);

// Echoes until the peer closes or an error; then reports how it ended.
struct EchoEnded {
  absl::Status status;
};
Task<absl::Status> EchoConnection(Self self, TcpStream stream, Pid report_to) {
  std::array<char, 4096> buffer;
  absl::Status ended;
  for (;;) {
    absl::StatusOr<size_t> n = co_await stream.ReadSome(buffer);
    if (!n.ok()) {
      ended = n.status();
      break;
    }
    if (*n == 0) break;
    absl::Status written = co_await stream.WriteAll(std::span<const char>(buffer.data(), *n));
    if (!written.ok()) {
      ended = written;
      break;
    }
  }
  absl::Status closed = co_await stream.Close();
  // After the close, so that whoever hears of the end also sees the connection's slot free.
  if (report_to) self.Send(report_to, EchoEnded{ended});
  co_return closed;
}

Task<absl::Status> AcceptLoop(Self self, TcpListener listener, Pid report_to) {
  for (;;) {
    absl::StatusOr<TcpStream> stream = co_await listener.Accept();
    if (!stream.ok()) co_return stream.status();
    self.Spawn(SpawnOptions{.placement = Placement::kRoundRobin}, EchoConnection,
               std::move(*stream), report_to);
  }
}

Task<absl::Status> RoundTrip(TcpStream& stream, std::string message) {
  absl::Status written = co_await stream.WriteAll(message);
  SNOW_CO_RETURN_IF_ERROR(written);
  std::string back(message.size(), '\0');
  absl::Status read = co_await stream.ReadExactly(back);
  SNOW_CO_RETURN_IF_ERROR(read);
  if (back != message) co_return absl::DataLossError("echo differs: " + back);
  co_return absl::OkStatus();
}

Task<absl::Status> EchoesOneMessage(Self self) {
  SNOW_CO_ASSIGN_OR_RETURN(TcpListener listener, TcpListener::Bind(SocketAddress::Loopback()));
  SocketAddress address = listener.local_address();
  EXPECT_NE(address.port(), 0);
  self.Spawn(AcceptLoop, std::move(listener), Pid());
  absl::StatusOr<TcpStream> stream = co_await TcpStream::Connect(address, kTimeout);
  SNOW_CO_RETURN_IF_ERROR(stream.status());
  absl::Status trip = co_await RoundTrip(*stream, "hello through io_uring");
  EXPECT_THAT(trip, IsOk());
  absl::Status closed = co_await stream->Close();
  EXPECT_THAT(closed, IsOk());
  EXPECT_FALSE(stream->is_open());
  co_return absl::OkStatus();
}

TEST(TcpTest, EchoRoundTrip) {
  EXPECT_THAT(RunOnTestRuntime(RealRuntimeOptions(2), EchoesOneMessage), IsOk());
}

Task<absl::Status> EchoesOverIpv6(Self self) {
  absl::StatusOr<SocketAddress> any = SocketAddress::Parse("[::1]:0");
  SNOW_CO_RETURN_IF_ERROR(any.status());
  absl::StatusOr<TcpListener> listener = TcpListener::Bind(*any);
  if (!listener.ok()) co_return absl::OkStatus();  // no IPv6 loopback here: nothing to test
  SocketAddress address = listener->local_address();
  self.Spawn(AcceptLoop, std::move(*listener), Pid());
  absl::StatusOr<TcpStream> stream = co_await TcpStream::Connect(address, kTimeout);
  SNOW_CO_RETURN_IF_ERROR(stream.status());
  absl::Status trip = co_await RoundTrip(*stream, "six");
  co_return trip;
}

TEST(TcpTest, EchoRoundTripOverIpv6) {
  EXPECT_THAT(RunOnTestRuntime(RealRuntimeOptions(1), EchoesOverIpv6), IsOk());
}

// ---- 1,000 concurrent connections ----

constexpr int kConnections = 1000;
struct Connected {
  Pid client;
};
struct Finish {};

Task<absl::Status> HoldingClient(Self self, SocketAddress address, Pid main, int index) {
  absl::StatusOr<TcpStream> stream = co_await TcpStream::Connect(address, kTimeout);
  SNOW_CO_RETURN_IF_ERROR(stream.status());
  absl::Status trip = co_await RoundTrip(*stream, "client " + std::to_string(index));
  SNOW_CO_RETURN_IF_ERROR(trip);
  self.Send(main, Connected{self.pid()});
  co_await self.Receive<Finish>();  // keep the connection open until every client is in
  absl::Status closed = co_await stream->Close();
  self.Send(main, EchoEnded{closed});
  co_return closed;
}

void RaiseFileLimit(rlim_t wanted) {
  rlimit limit;
  if (getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < wanted) {
    limit.rlim_cur = std::min(wanted, limit.rlim_max);
    setrlimit(RLIMIT_NOFILE, &limit);
  }
}

Task<absl::Status> ServesAThousandConnections(Self self) {
  auto limit = std::make_shared<ConnectionLimit>(5000);
  SNOW_CO_ASSIGN_OR_RETURN(TcpListener listener,
                           TcpListener::Bind(SocketAddress::Loopback(), {.limit = limit}));
  SocketAddress address = listener.local_address();
  self.Spawn(AcceptLoop, std::move(listener), Pid());
  for (int i = 0; i < kConnections; ++i) {
    self.Spawn(SpawnOptions{.placement = Placement::kRoundRobin}, HoldingClient, address,
               self.pid(), i);
  }
  std::vector<Pid> clients;
  while (clients.size() < kConnections) {
    absl::StatusOr<Connected> c = co_await self.ReceiveFor<Connected>(absl::Seconds(60));
    SNOW_CO_RETURN_IF_ERROR(c.status());
    clients.push_back(c->client);
  }
  // Every client has done its round trip and still holds its connection.
  EXPECT_EQ(limit->open(), static_cast<uint64_t>(kConnections));
  EXPECT_EQ(limit->accepted(), static_cast<uint64_t>(kConnections));
  for (Pid client : clients) self.Send(client, Finish{});
  for (int i = 0; i < kConnections; ++i) {
    absl::StatusOr<EchoEnded> e = co_await self.ReceiveFor<EchoEnded>(absl::Seconds(60));
    SNOW_CO_RETURN_IF_ERROR(e.status());
    EXPECT_THAT(e->status, IsOk());
  }
  co_return absl::OkStatus();
}

TEST(TcpTest, AThousandConcurrentConnectionsThroughOneListener) {
  RaiseFileLimit(4 * kConnections + 256);
  EXPECT_THAT(RunOnTestRuntime(RealRuntimeOptions(2), ServesAThousandConnections), IsOk());
}

// ---- Errors ----

Task<absl::Status> PeerResetReachesOnlyThatActor(Self self) {
  SNOW_CO_ASSIGN_OR_RETURN(TcpListener listener, TcpListener::Bind(SocketAddress::Loopback()));
  SocketAddress address = listener.local_address();
  self.Spawn(AcceptLoop, std::move(listener), self.pid());
  absl::StatusOr<TcpStream> doomed = co_await TcpStream::Connect(address, kTimeout);
  SNOW_CO_RETURN_IF_ERROR(doomed.status());
  absl::StatusOr<TcpStream> survivor = co_await TcpStream::Connect(address, kTimeout);
  SNOW_CO_RETURN_IF_ERROR(survivor.status());
  // Both connections are being served (their server actors are blocked in ReadSome).
  absl::Status first = co_await RoundTrip(*doomed, "one");
  SNOW_CO_RETURN_IF_ERROR(first);
  absl::Status second = co_await RoundTrip(*survivor, "two");
  SNOW_CO_RETURN_IF_ERROR(second);
  doomed->Reset();  // RST while its server actor waits in ReadSome
  absl::StatusOr<EchoEnded> ended = co_await self.ReceiveFor<EchoEnded>(kTimeout);
  SNOW_CO_RETURN_IF_ERROR(ended.status());
  EXPECT_THAT(ended->status, StatusIs(absl::StatusCode::kUnavailable, "reset"));
  // The other connection's actor goes on.
  absl::Status again = co_await RoundTrip(*survivor, "still here");
  EXPECT_THAT(again, IsOk());
  absl::StatusOr<EchoEnded> none = co_await self.ReceiveFor<EchoEnded>(absl::Milliseconds(50));
  EXPECT_THAT(none, StatusIs(absl::StatusCode::kDeadlineExceeded));
  co_return absl::OkStatus();
}

TEST(TcpTest, PeerResetMidReadFailsOnlyThatConnection) {
  EXPECT_THAT(RunOnTestRuntime(RealRuntimeOptions(2), PeerResetReachesOnlyThatActor), IsOk());
}

Task<absl::Status> ConnectIsRefused(Self) {
  SocketAddress address;
  {
    // A port that was free a moment ago and has no listener now.
    SNOW_CO_ASSIGN_OR_RETURN(TcpListener listener, TcpListener::Bind(SocketAddress::Loopback()));
    address = listener.local_address();
  }
  absl::StatusOr<TcpStream> stream = co_await TcpStream::Connect(address, kTimeout);
  EXPECT_THAT(stream, StatusIs(absl::StatusCode::kUnavailable, "refused"));
  co_return absl::OkStatus();
}

TEST(TcpTest, ConnectRefused) {
  EXPECT_THAT(RunOnTestRuntime(RealRuntimeOptions(1), ConnectIsRefused), IsOk());
}

// A listener whose accept queue is full and never drained drops further SYNs (Linux, with
// tcp_abort_on_overflow off), so a connect to it hangs until its timeout: deterministic, and
// needs no outside network.
Task<absl::Status> ConnectTimesOut(Self) {
  SNOW_CO_ASSIGN_OR_RETURN(TcpListener listener,
                           TcpListener::Bind(SocketAddress::Loopback(), {.backlog = 0}));
  SocketAddress address = listener.local_address();
  std::vector<TcpStream> fillers;
  for (int i = 0; i < 8; ++i) {
    absl::StatusOr<TcpStream> filler =
        co_await TcpStream::Connect(address, absl::Milliseconds(200));
    if (!filler.ok()) {
      EXPECT_THAT(filler, StatusIs(absl::StatusCode::kDeadlineExceeded, "connect"));
      co_return absl::OkStatus();
    }
    fillers.push_back(std::move(*filler));
  }
  co_return absl::FailedPreconditionError(
      "eight connects to a listener with backlog 0 all succeeded: SYNs are not dropped here");
}

TEST(TcpTest, ConnectTimeout) {
  absl::Status status = RunOnTestRuntime(RealRuntimeOptions(1), ConnectTimesOut);
  if (status.code() == absl::StatusCode::kFailedPrecondition) GTEST_SKIP() << status.message();
  EXPECT_THAT(status, IsOk());
}

Task<absl::Status> ReadTimesOutAndStaysUsable(Self self) {
  SNOW_CO_ASSIGN_OR_RETURN(TcpListener listener, TcpListener::Bind(SocketAddress::Loopback()));
  SocketAddress address = listener.local_address();
  self.Spawn(AcceptLoop, std::move(listener), Pid());
  absl::StatusOr<TcpStream> stream =
      co_await TcpStream::Connect(address, kTimeout, {.idle_timeout = absl::Milliseconds(30)});
  SNOW_CO_RETURN_IF_ERROR(stream.status());
  std::array<char, 16> buffer;
  absl::StatusOr<size_t> idle = co_await stream->ReadSome(buffer);  // idle_timeout applies
  EXPECT_THAT(idle, StatusIs(absl::StatusCode::kDeadlineExceeded));
  absl::StatusOr<size_t> explicit_timeout =
      co_await stream->ReadSome(buffer, absl::Milliseconds(10));
  EXPECT_THAT(explicit_timeout, StatusIs(absl::StatusCode::kDeadlineExceeded));
  absl::Status trip = co_await RoundTrip(*stream, "after the timeouts");
  EXPECT_THAT(trip, IsOk());
  co_return absl::OkStatus();
}

TEST(TcpTest, IdleTimeoutEndsAReadAndTheStreamStaysUsable) {
  EXPECT_THAT(RunOnTestRuntime(RealRuntimeOptions(1), ReadTimesOutAndStaysUsable), IsOk());
}

// ---- Half-close ----

Task<absl::Status> HalfCloseServer(Self self, TcpListener listener, Pid main) {
  absl::StatusOr<TcpStream> stream = co_await listener.Accept();
  SNOW_CO_RETURN_IF_ERROR(stream.status());
  std::string received;
  std::array<char, 64> buffer;
  for (;;) {
    absl::StatusOr<size_t> n = co_await stream->ReadSome(buffer);
    SNOW_CO_RETURN_IF_ERROR(n.status());
    if (*n == 0) break;  // the client shut down its side
    received.append(buffer.data(), *n);
  }
  // Our side is still open: answer after the client's end of stream.
  absl::Status written = co_await stream->WriteAll(std::string("got " + received));
  SNOW_CO_RETURN_IF_ERROR(written);
  absl::Status closed = co_await stream->Close();
  self.Send(main, EchoEnded{closed});
  co_return closed;
}

Task<absl::Status> HalfCloses(Self self) {
  SNOW_CO_ASSIGN_OR_RETURN(TcpListener listener, TcpListener::Bind(SocketAddress::Loopback()));
  SocketAddress address = listener.local_address();
  self.Spawn(HalfCloseServer, std::move(listener), self.pid());
  absl::StatusOr<TcpStream> stream = co_await TcpStream::Connect(address, kTimeout);
  SNOW_CO_RETURN_IF_ERROR(stream.status());
  absl::Status written = co_await stream->WriteAll(std::string("question"));
  SNOW_CO_RETURN_IF_ERROR(written);
  absl::Status shut = co_await stream->Shutdown();
  EXPECT_THAT(shut, IsOk());
  std::string answer;
  std::array<char, 64> buffer;
  for (;;) {
    absl::StatusOr<size_t> n = co_await stream->ReadSome(buffer);
    SNOW_CO_RETURN_IF_ERROR(n.status());
    if (*n == 0) break;
    answer.append(buffer.data(), *n);
  }
  EXPECT_EQ(answer, "got question");
  absl::StatusOr<EchoEnded> ended = co_await self.ReceiveFor<EchoEnded>(kTimeout);
  SNOW_CO_RETURN_IF_ERROR(ended.status());
  EXPECT_THAT(ended->status, IsOk());
  co_return absl::OkStatus();
}

TEST(TcpTest, HalfCloseLetsThePeerAnswerAfterEndOfStream) {
  EXPECT_THAT(RunOnTestRuntime(RealRuntimeOptions(1), HalfCloses), IsOk());
}

// ---- Reads and writes without waiting ----

Task<absl::Status> AcceptOne(Self self, TcpListener listener, Pid main) {
  absl::StatusOr<TcpStream> stream = co_await listener.Accept();
  SNOW_CO_RETURN_IF_ERROR(stream.status());
  self.Send(main, std::move(*stream));
  co_return absl::OkStatus();
}

Task<absl::Status> ReadsAndWritesNow(Self self) {
  SNOW_CO_ASSIGN_OR_RETURN(TcpListener listener, TcpListener::Bind(SocketAddress::Loopback()));
  SocketAddress address = listener.local_address();
  self.Spawn(AcceptOne, std::move(listener), self.pid());
  absl::StatusOr<TcpStream> client =
      co_await TcpStream::Connect(address, kTimeout, {.send_buffer_bytes = 4096});
  SNOW_CO_RETURN_IF_ERROR(client.status());
  absl::StatusOr<TcpStream> server = co_await self.ReceiveFor<TcpStream>(kTimeout);
  SNOW_CO_RETURN_IF_ERROR(server.status());
  std::array<char, 64> buffer;
  // Nothing has arrived: no wait, kDeadlineExceeded.
  EXPECT_THAT(server->ReadSomeNow(buffer), StatusIs(absl::StatusCode::kDeadlineExceeded));
  absl::StatusOr<size_t> taken = client->WriteSomeNow(std::string_view("ping"));
  EXPECT_EQ(taken.value_or(0), 4u);
  absl::Status readable = co_await server->WaitReadable(kTimeout);
  SNOW_CO_RETURN_IF_ERROR(readable);
  absl::StatusOr<size_t> n = server->ReadSomeNow(buffer);
  SNOW_CO_RETURN_IF_ERROR(n.status());
  EXPECT_EQ(std::string_view(buffer.data(), *n), "ping");
  // A writer nobody reads fills the buffers: then the kernel takes nothing, and says so with 0.
  const std::string block(64 * 1024, 'x');
  size_t sent = 0;
  for (int i = 0; i < 1000; ++i) {
    absl::StatusOr<size_t> more = client->WriteSomeNow(block);
    SNOW_CO_RETURN_IF_ERROR(more.status());
    if (*more == 0) break;
    sent += *more;
  }
  EXPECT_EQ(client->WriteSomeNow(block).value_or(1), 0u);
  EXPECT_GT(sent, 0u);
  // The end of the stream reads as 0, and a closed stream fails.
  absl::Status closed = co_await client->Close();
  SNOW_CO_RETURN_IF_ERROR(closed);
  size_t drained = 0;
  std::vector<char> sink(256 * 1024);
  for (;;) {
    absl::Status more = co_await server->WaitReadable(kTimeout);
    SNOW_CO_RETURN_IF_ERROR(more);
    absl::StatusOr<size_t> got = server->ReadSomeNow(sink);
    SNOW_CO_RETURN_IF_ERROR(got.status());
    if (*got == 0) break;
    drained += *got;
  }
  EXPECT_EQ(drained, sent);
  EXPECT_THAT(client->ReadSomeNow(buffer), StatusIs(absl::StatusCode::kFailedPrecondition));
  co_return absl::OkStatus();
}

TEST(TcpTest, ReadSomeNowAndWriteSomeNowNeverWait) {
  EXPECT_THAT(RunOnTestRuntime(RealRuntimeOptions(1), ReadsAndWritesNow), IsOk());
}

// ---- Limits and options ----

Task<absl::Status> RefusesPastTheCap(Self self) {
  auto limit = std::make_shared<ConnectionLimit>(1);
  SNOW_CO_ASSIGN_OR_RETURN(TcpListener listener,
                           TcpListener::Bind(SocketAddress::Loopback(), {.limit = limit}));
  SocketAddress address = listener.local_address();
  self.Spawn(AcceptLoop, std::move(listener), self.pid());
  absl::StatusOr<TcpStream> first = co_await TcpStream::Connect(address, kTimeout);
  SNOW_CO_RETURN_IF_ERROR(first.status());
  absl::Status trip = co_await RoundTrip(*first, "in");
  SNOW_CO_RETURN_IF_ERROR(trip);
  // The second connect completes (the kernel accepts it), then the server resets it.
  absl::StatusOr<TcpStream> second = co_await TcpStream::Connect(address, kTimeout);
  SNOW_CO_RETURN_IF_ERROR(second.status());
  std::array<char, 8> buffer;
  absl::StatusOr<size_t> refused = co_await second->ReadSome(buffer, kTimeout);
  EXPECT_THAT(refused, StatusIs(absl::StatusCode::kUnavailable, "reset"));
  EXPECT_EQ(limit->refused(), 1u);
  EXPECT_EQ(limit->open(), 1u);
  // Once the first connection ends, there is room again.
  absl::Status closed = co_await first->Close();
  SNOW_CO_RETURN_IF_ERROR(closed);
  absl::StatusOr<EchoEnded> ended = co_await self.ReceiveFor<EchoEnded>(kTimeout);
  SNOW_CO_RETURN_IF_ERROR(ended.status());
  EXPECT_EQ(limit->open(), 0u);  // EchoEnded comes after the echo closed its stream
  absl::StatusOr<TcpStream> third = co_await TcpStream::Connect(address, kTimeout);
  SNOW_CO_RETURN_IF_ERROR(third.status());
  absl::Status trip3 = co_await RoundTrip(*third, "in again");
  EXPECT_THAT(trip3, IsOk());
  co_return absl::OkStatus();
}

TEST(TcpTest, ConnectionCapResetsConnectionsPastIt) {
  EXPECT_THAT(RunOnTestRuntime(RealRuntimeOptions(1), RefusesPastTheCap), IsOk());
}

int GetInt(int fd, int level, int name) {
  int value = -1;
  socklen_t length = sizeof(value);
  getsockopt(fd, level, name, &value, &length);
  return value;
}

Task<absl::Status> OptionsReachTheSockets(Self) {
  TcpOptions options{.no_delay = true, .keep_alive = true, .keep_alive_idle = absl::Seconds(30)};
  SNOW_CO_ASSIGN_OR_RETURN(TcpListener listener,
                           TcpListener::Bind(SocketAddress::Loopback(), {.stream = options}));
  SocketAddress address = listener.local_address();
  absl::StatusOr<TcpStream> client = co_await TcpStream::Connect(address, kTimeout, options);
  SNOW_CO_RETURN_IF_ERROR(client.status());
  absl::StatusOr<TcpStream> server = co_await listener.Accept(kTimeout);
  SNOW_CO_RETURN_IF_ERROR(server.status());
  for (const TcpStream* s : {&*client, &*server}) {
    EXPECT_EQ(GetInt(s->fd(), IPPROTO_TCP, TCP_NODELAY), 1);
    EXPECT_EQ(GetInt(s->fd(), SOL_SOCKET, SO_KEEPALIVE), 1);
    EXPECT_EQ(GetInt(s->fd(), IPPROTO_TCP, TCP_KEEPIDLE), 30);
  }
  absl::StatusOr<SocketAddress> peer = server->peer_address();
  absl::StatusOr<SocketAddress> local = client->local_address();
  SNOW_CO_RETURN_IF_ERROR(peer.status());
  EXPECT_EQ(*peer, *local);
  co_return absl::OkStatus();
}

TEST(TcpTest, AcceptedStreamsInheritTheListenersOptions) {
  EXPECT_THAT(RunOnTestRuntime(RealRuntimeOptions(1), OptionsReachTheSockets), IsOk());
}

// Two connections from each of two chosen loopback addresses: the server sees those addresses.
Task<absl::Status> ConnectsFromTheChosenSource(Self) {
  SNOW_CO_ASSIGN_OR_RETURN(TcpListener listener, TcpListener::Bind(SocketAddress::Loopback()));
  const SocketAddress address = listener.local_address();
  std::vector<TcpStream> clients;
  for (const char* source : {"127.0.0.2:0", "127.0.0.3:0", "127.0.0.2:0", "127.0.0.3:0"}) {
    SNOW_CO_ASSIGN_OR_RETURN(SocketAddress from, SocketAddress::Parse(source));
    TcpOptions options;
    options.source = from;
    absl::StatusOr<TcpStream> client = co_await TcpStream::Connect(address, kTimeout, options);
    SNOW_CO_RETURN_IF_ERROR(client.status());
    absl::StatusOr<TcpStream> server = co_await listener.Accept(kTimeout);
    SNOW_CO_RETURN_IF_ERROR(server.status());
    absl::StatusOr<SocketAddress> peer = server->peer_address();
    SNOW_CO_RETURN_IF_ERROR(peer.status());
    EXPECT_EQ(peer->ToString().substr(0, 10), std::string(source).substr(0, 10));
    clients.push_back(std::move(*client));
  }
  // A source that is not this host's cannot be bound: the connect fails, nothing else does.
  SNOW_CO_ASSIGN_OR_RETURN(SocketAddress foreign, SocketAddress::Parse("192.0.2.1:0"));
  TcpOptions options;
  options.source = foreign;
  absl::StatusOr<TcpStream> refused = co_await TcpStream::Connect(address, kTimeout, options);
  EXPECT_FALSE(refused.ok());
  EXPECT_THAT(std::string(refused.status().message()), ::testing::HasSubstr("bind to 192.0.2.1"));
  co_return absl::OkStatus();
}

TEST(TcpTest, ConnectsFromTheChosenSourceAddress) {
  EXPECT_THAT(RunOnTestRuntime(RealRuntimeOptions(1), ConnectsFromTheChosenSource), IsOk());
}

TEST(TcpTest, BindToAnAddressInUseFails) {
  absl::StatusOr<TcpListener> first = TcpListener::Bind(SocketAddress::Loopback());
  ASSERT_THAT(first, IsOk());
  EXPECT_THAT(TcpListener::Bind(first->local_address()),
              StatusIs(absl::StatusCode::kAlreadyExists));
}

// ---- Cancellation ----

// Its buffer lives in this frame: destroying the frame mid-read must cancel the recv first
// (ASan would catch the kernel writing into the freed frame otherwise).
Task<absl::Status> BlockedReader(Self self, TcpStream stream, Pid main) {
  std::array<char, 4096> buffer;
  self.Send(main, Connected{self.pid()});
  absl::StatusOr<size_t> n = co_await stream.ReadSome(buffer);
  co_return absl::InternalError("the read should never complete");
}

Task<absl::Status> ReadTaskThatNeverEnds(TcpStream* stream) {
  std::array<char, 4096> buffer;
  absl::Status read = co_await stream->ReadExactly(buffer);
  co_return absl::InternalError("ReadExactly should never complete");
}

Task<absl::Status> BlockedGroup(Self self, TcpStream stream, Pid main) {
  TaskGroup group;
  group.Start(ReadTaskThatNeverEnds(&stream));
  self.Send(main, Connected{self.pid()});
  absl::Status joined = co_await group.Join();
  co_return joined;
}

// Duplicates of both ends of each connection, kept by the test past the runtime: the readers'
// sockets stay open after their actors are gone, so a recv that outlived its actor would still
// be there to take the next bytes.
struct KeptEnds {
  std::vector<std::pair<int, int>> fds;  // {client, served}
};

Task<absl::Status> EndsWhileReadersBlock(Self self, std::reference_wrapper<KeptEnds> kept) {
  SNOW_CO_ASSIGN_OR_RETURN(TcpListener listener, TcpListener::Bind(SocketAddress::Loopback()));
  std::vector<TcpStream> clients;
  for (int i = 0; i < 4; ++i) {
    absl::StatusOr<TcpStream> client =
        co_await TcpStream::Connect(listener.local_address(), kTimeout);
    SNOW_CO_RETURN_IF_ERROR(client.status());
    absl::StatusOr<TcpStream> served = co_await listener.Accept(kTimeout);
    SNOW_CO_RETURN_IF_ERROR(served.status());
    kept.get().fds.emplace_back(dup(client->fd()), dup(served->fd()));
    clients.push_back(std::move(*client));
    SpawnOptions where{.placement = Placement::kShard, .shard = static_cast<ShardId>(i % 2)};
    if (i < 2) {
      self.Spawn(where, BlockedReader, std::move(*served), self.pid());
    } else {
      self.Spawn(where, BlockedGroup, std::move(*served), self.pid());
    }
  }
  // Each reader sends Connected and goes straight on to its recv, with no suspension between.
  for (int i = 0; i < 4; ++i) {
    absl::StatusOr<Connected> ready = co_await self.ReceiveFor<Connected>(kTimeout);
    SNOW_CO_RETURN_IF_ERROR(ready.status());
  }
  // Returning ends the runtime, which destroys the four readers at their suspension points.
  co_return absl::OkStatus();
}

TEST(TcpTest, DestroyingActorsBlockedInReadsCancelsTheirRecvs) {
  KeptEnds kept;
  EXPECT_THAT(RunOnTestRuntime(RealRuntimeOptions(2), EndsWhileReadersBlock, std::ref(kept)),
              IsOk());
  ASSERT_EQ(kept.fds.size(), 4u);
  for (auto [client, served] : kept.fds) {
    ASSERT_GE(client, 0);
    ASSERT_GE(served, 0);
    // Had a recv survived its actor, it would take these bytes (into a freed frame); they are
    // all still in the socket.
    ASSERT_EQ(write(client, "abc", 3), 3);
    timeval wait{.tv_sec = 5, .tv_usec = 0};  // a surviving recv would take them first
    ASSERT_EQ(setsockopt(served, SOL_SOCKET, SO_RCVTIMEO, &wait, sizeof(wait)), 0);
    char buffer[8];
    EXPECT_EQ(recv(served, buffer, sizeof(buffer), 0), 3);
    close(client);
    close(served);
  }
}

}  // namespace
}  // namespace snow::net
