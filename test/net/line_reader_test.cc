#include "snow/net/line_reader.h"

#include <sys/ioctl.h>

#include <cstddef>
#include <functional>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "snow/core/snow.h"
#include "snow/net/tcp.h"
#include "snow/net/tls.h"
#include "snow/test/testing/co_test.h"

namespace snow::net {
namespace {

using ::snow::testing::IsOk;
using ::snow::testing::RealRuntimeOptions;
using ::snow::testing::RunOnTestRuntime;
using ::snow::testing::StatusIs;

constexpr absl::Duration kTimeout = absl::Seconds(10);

// Two ends of a loopback connection. Connect completes from the backlog, before Accept.
struct Pair {
  TcpStream writer;
  TcpStream reader;
};

Task<absl::StatusOr<Pair>> ConnectPair() {
  SNOW_CO_ASSIGN_OR_RETURN(TcpListener listener, TcpListener::Bind(SocketAddress::Loopback()));
  absl::StatusOr<TcpStream> writer =
      co_await TcpStream::Connect(listener.local_address(), kTimeout);
  SNOW_CO_RETURN_IF_ERROR(writer.status());
  absl::StatusOr<TcpStream> reader = co_await listener.Accept(kTimeout);
  SNOW_CO_RETURN_IF_ERROR(reader.status());
  co_return Pair{std::move(*writer), std::move(*reader)};
}

// Bytes the kernel holds for `fd` that no recv has taken yet.
int Unread(int fd) {
  int n = 0;
  if (ioctl(fd, FIONREAD, &n) != 0) return 0;
  return n;
}

// Writes `chunks` one at a time; with `paced`, waits after each until the reader's recv has
// taken it, so that each chunk is a read of its own. Then closes (end of stream) if `close`.
Task<absl::Status> Writer(Self, TcpStream stream, std::vector<std::string> chunks, int reader_fd,
                          bool paced, bool close) {
  for (const std::string& chunk : chunks) {
    absl::Status written = co_await stream.WriteAll(chunk);
    SNOW_CO_RETURN_IF_ERROR(written);
    while (paced && Unread(reader_fd) > 0) co_await Yield();
  }
  if (!close) {
    std::vector<char> sink(1);
    absl::StatusOr<size_t> n = co_await stream.ReadSome(sink);  // until the reader side closes
    co_return n.status();
  }
  absl::Status closed = co_await stream.Close();
  co_return closed;
}

// Starts a writer actor on another shard for `chunks`; returns the reader's end.
Task<absl::StatusOr<TcpStream>> Feed(Self self, std::vector<std::string> chunks, bool paced,
                                     bool close = true) {
  absl::StatusOr<Pair> pair = co_await ConnectPair();
  SNOW_CO_RETURN_IF_ERROR(pair.status());
  self.Spawn(SpawnOptions{.placement = Placement::kRoundRobin}, Writer, std::move(pair->writer),
             std::move(chunks), pair->reader.fd(), paced, close);
  co_return std::move(pair->reader);
}

// Every line until end of stream (kOutOfRange), or the first error.
Task<absl::StatusOr<std::vector<std::string>>> ReadAll(LineReader<TcpStream>& reader) {
  std::vector<std::string> lines;
  for (;;) {
    absl::StatusOr<std::string> line = co_await reader.ReadLine(kTimeout);
    if (absl::IsOutOfRange(line.status())) co_return lines;
    SNOW_CO_RETURN_IF_ERROR(line.status());
    lines.push_back(std::move(*line));
  }
}

std::vector<std::string> Bytes(const std::string& text) {
  std::vector<std::string> bytes;
  for (char c : text) bytes.push_back(std::string(1, c));
  return bytes;
}

using Lines = std::vector<std::string>;

Task<absl::Status> ReadsByteByByteWrites(Self self) {
  std::vector<std::string> chunks = Bytes("first line\r\nsecond\n\nthird, after an empty one\r\n");
  absl::StatusOr<TcpStream> stream = co_await Feed(self, std::move(chunks), /*paced=*/true);
  SNOW_CO_RETURN_IF_ERROR(stream.status());
  LineReader reader(std::move(*stream));
  absl::StatusOr<Lines> lines = co_await ReadAll(reader);
  SNOW_CO_RETURN_IF_ERROR(lines.status());
  EXPECT_THAT(*lines,
              ::testing::ElementsAre("first line", "second", "", "third, after an empty one"));
  co_return absl::OkStatus();
}

TEST(LineReaderTest, LinesSplitAcrossWritesComeWhole) {
  EXPECT_THAT(RunOnTestRuntime(RealRuntimeOptions(2), ReadsByteByByteWrites), IsOk());
}

Task<absl::Status> ReadsPipelinedLines(Self self) {
  std::string all;
  for (int i = 0; i < 1000; ++i) all += "line " + std::to_string(i) + (i % 2 ? "\r\n" : "\n");
  std::vector<std::string> chunks = {all};
  absl::StatusOr<TcpStream> stream = co_await Feed(self, std::move(chunks), /*paced=*/false);
  SNOW_CO_RETURN_IF_ERROR(stream.status());
  LineReader reader(std::move(*stream));
  absl::StatusOr<std::string> first = co_await reader.ReadLine(kTimeout);
  SNOW_CO_RETURN_IF_ERROR(first.status());
  EXPECT_EQ(*first, "line 0");
  EXPECT_GT(reader.buffered(), 0u);  // the rest of the segment waits in the reader
  absl::StatusOr<Lines> rest = co_await ReadAll(reader);
  SNOW_CO_RETURN_IF_ERROR(rest.status());
  EXPECT_EQ(rest->size(), 999u);
  for (size_t i = 0; i < rest->size(); ++i) EXPECT_EQ((*rest)[i], "line " + std::to_string(i + 1));
  co_return absl::OkStatus();
}

TEST(LineReaderTest, ManyLinesInOneWriteComeOneByOne) {
  EXPECT_THAT(RunOnTestRuntime(RealRuntimeOptions(2), ReadsPipelinedLines), IsOk());
}

// Lines of 0 to 12,000 bytes in random chunks: the buffer grows, compacts and is reused.
Task<absl::Status> ReadsRandomlySplitLines(Self self) {
  std::mt19937 random(14);
  Lines sent;
  std::string all;
  for (int i = 0; i < 300; ++i) {
    std::string line(random() % 12000, static_cast<char>('a' + i % 26));
    if (i % 7 == 0) line.clear();
    all += line + (i % 3 == 0 ? "\r\n" : "\n");
    sent.push_back(std::move(line));
  }
  std::vector<std::string> chunks;
  for (size_t at = 0; at < all.size();) {
    size_t size = 1 + random() % 20000;
    chunks.push_back(all.substr(at, size));
    at += size;
  }
  absl::StatusOr<TcpStream> stream = co_await Feed(self, std::move(chunks), /*paced=*/true);
  SNOW_CO_RETURN_IF_ERROR(stream.status());
  LineReader reader(std::move(*stream), {.max_line_bytes = 16 * 1024});
  absl::StatusOr<Lines> lines = co_await ReadAll(reader);
  SNOW_CO_RETURN_IF_ERROR(lines.status());
  EXPECT_TRUE(*lines == sent);
  co_return absl::OkStatus();
}

TEST(LineReaderTest, RandomlySplitLinesOfManyLengthsComeWhole) {
  EXPECT_THAT(RunOnTestRuntime(RealRuntimeOptions(2), ReadsRandomlySplitLines), IsOk());
}

Task<absl::Status> ReadsTerminators(Self self) {
  std::vector<std::string> chunks = {"lf\ncrlf\r\n\n\r\n\r\r\nlone\rcr\r\nend"};
  absl::StatusOr<TcpStream> stream = co_await Feed(self, std::move(chunks), /*paced=*/false);
  SNOW_CO_RETURN_IF_ERROR(stream.status());
  LineReader reader(std::move(*stream));
  absl::StatusOr<Lines> lines = co_await ReadAll(reader);
  SNOW_CO_RETURN_IF_ERROR(lines.status());
  // Only the '\r' just before '\n' goes; the last line comes without a terminator.
  EXPECT_THAT(*lines, ::testing::ElementsAre("lf", "crlf", "", "", "\r", "lone\rcr", "end"));
  co_return absl::OkStatus();
}

TEST(LineReaderTest, CrLfAndLfEndLinesAndEmptyLinesAreKept) {
  EXPECT_THAT(RunOnTestRuntime(RealRuntimeOptions(2), ReadsTerminators), IsOk());
}

Task<absl::Status> ReadsTheLastLineOnce(Self self) {
  std::vector<std::string> chunks = {"whole\n", "no newline"};
  absl::StatusOr<TcpStream> stream = co_await Feed(self, std::move(chunks), /*paced=*/true);
  SNOW_CO_RETURN_IF_ERROR(stream.status());
  LineReader reader(std::move(*stream));
  absl::StatusOr<std::string> whole = co_await reader.ReadLine(kTimeout);
  EXPECT_THAT(whole, IsOk());
  EXPECT_EQ(whole.value_or(""), "whole");
  absl::StatusOr<std::string> last = co_await reader.ReadLine(kTimeout);
  EXPECT_THAT(last, IsOk());
  EXPECT_EQ(last.value_or(""), "no newline");
  for (int i = 0; i < 3; ++i) {
    absl::StatusOr<std::string> end = co_await reader.ReadLine(kTimeout);
    EXPECT_THAT(end, StatusIs(absl::StatusCode::kOutOfRange, "end of stream"));
  }
  absl::Status closed = co_await reader.stream().Close();
  co_return closed;
}

TEST(LineReaderTest, AFinalLineWithoutNewlineComesOnceThenEndOfStream) {
  EXPECT_THAT(RunOnTestRuntime(RealRuntimeOptions(2), ReadsTheLastLineOnce), IsOk());
}

Task<absl::Status> ReadsEndOfStream(Self self) {
  std::vector<std::string> nothing;  // a named local: no braced temporary in a co_await
  absl::StatusOr<TcpStream> stream = co_await Feed(self, std::move(nothing), /*paced=*/false);
  SNOW_CO_RETURN_IF_ERROR(stream.status());
  LineReader reader(std::move(*stream));
  absl::StatusOr<std::string> end = co_await reader.ReadLine(kTimeout);
  EXPECT_THAT(end, StatusIs(absl::StatusCode::kOutOfRange, "end of stream"));
  absl::StatusOr<std::string> again = co_await reader.ReadLine();
  EXPECT_THAT(again, StatusIs(absl::StatusCode::kOutOfRange));
  absl::StatusOr<std::string> payload = co_await reader.ReadExactly(3);
  EXPECT_THAT(payload, StatusIs(absl::StatusCode::kUnavailable, "after 0 of 3 bytes"));
  co_return absl::OkStatus();
}

TEST(LineReaderTest, EndOfStreamIsOutOfRangeEveryTime) {
  EXPECT_THAT(RunOnTestRuntime(RealRuntimeOptions(2), ReadsEndOfStream), IsOk());
}

Task<absl::Status> RefusesLongLines(Self self) {
  // 16 bytes fit, with "\n" or "\r\n"; 17 do not.
  std::string fits(16, 'x');
  std::vector<std::string> chunks = {fits + "\n" + fits + "\r\n" + fits + "y\r\nnever read\n"};
  absl::StatusOr<TcpStream> stream = co_await Feed(self, std::move(chunks), /*paced=*/false,
                                                   /*close=*/false);
  SNOW_CO_RETURN_IF_ERROR(stream.status());
  LineReader reader(std::move(*stream), {.max_line_bytes = 16});
  for (int i = 0; i < 2; ++i) {
    absl::StatusOr<std::string> line = co_await reader.ReadLine(kTimeout);
    EXPECT_THAT(line, IsOk());
    EXPECT_EQ(line.value_or(""), fits);
  }
  absl::StatusOr<std::string> too_long = co_await reader.ReadLine(kTimeout);
  EXPECT_THAT(too_long, StatusIs(absl::StatusCode::kResourceExhausted, "limit of 16 bytes"));
  // The reader has lost its place and says so; its buffer is gone; the stream still works.
  EXPECT_EQ(reader.buffered(), 0u);
  absl::StatusOr<std::string> after = co_await reader.ReadLine(kTimeout);
  EXPECT_THAT(after, StatusIs(absl::StatusCode::kFailedPrecondition, "lost its place"));
  absl::StatusOr<std::string> bytes = co_await reader.ReadExactly(1, kTimeout);
  EXPECT_THAT(bytes, StatusIs(absl::StatusCode::kFailedPrecondition, "lost its place"));
  std::string error = "ERR line too long\r\n";
  absl::Status reply = co_await reader.stream().WriteAll(error);
  EXPECT_THAT(reply, IsOk());
  absl::Status closed = co_await reader.stream().Close();
  co_return closed;
}

TEST(LineReaderTest, ALineOverTheLimitIsResourceExhaustedAndTheReaderStaysFailed) {
  EXPECT_THAT(RunOnTestRuntime(RealRuntimeOptions(2), RefusesLongLines), IsOk());
}

// A peer that never sends '\n': the reader stops at its limit, it does not buffer on.
Task<absl::Status> StopsAHostilePeer(Self self) {
  std::vector<std::string> chunks;
  for (int i = 0; i < 64; ++i) chunks.push_back(std::string(16 * 1024, 'z'));  // 1 MiB
  absl::StatusOr<TcpStream> stream = co_await Feed(self, std::move(chunks), /*paced=*/false,
                                                   /*close=*/false);
  SNOW_CO_RETURN_IF_ERROR(stream.status());
  LineReader reader(std::move(*stream));  // the default limit, 64 KiB
  EXPECT_EQ(reader.max_line_bytes(), 64u * 1024);
  absl::StatusOr<std::string> line = co_await reader.ReadLine(kTimeout);
  EXPECT_THAT(line, StatusIs(absl::StatusCode::kResourceExhausted, "limit of 65536 bytes"));
  EXPECT_EQ(reader.buffered(), 0u);
  reader.stream().Reset();  // the writer's next send fails: it ends
  co_return absl::OkStatus();
}

TEST(LineReaderTest, APeerThatNeverEndsALineIsRefusedAtTheLimit) {
  EXPECT_THAT(RunOnTestRuntime(RealRuntimeOptions(2), StopsAHostilePeer), IsOk());
}

Task<absl::Status> TimesOut(Self) {
  absl::StatusOr<Pair> pair = co_await ConnectPair();
  SNOW_CO_RETURN_IF_ERROR(pair.status());
  LineReader reader(std::move(pair->reader));
  std::string start = "par";  // a std::string: a literal's span would include its '\0'
  absl::Status sent = co_await pair->writer.WriteAll(start);
  SNOW_CO_RETURN_IF_ERROR(sent);
  absl::StatusOr<std::string> line = co_await reader.ReadLine(absl::Milliseconds(50));
  EXPECT_THAT(line, StatusIs(absl::StatusCode::kDeadlineExceeded));
  // Nothing was lost: the partial line is still there.
  EXPECT_EQ(reader.buffered(), 3u);
  // Without a timeout of its own, a read has the stream's idle timeout.
  TcpOptions options;
  options.idle_timeout = absl::Milliseconds(50);
  SNOW_CO_RETURN_IF_ERROR(reader.stream().SetOptions(options));
  absl::StatusOr<std::string> idle = co_await reader.ReadLine();
  EXPECT_THAT(idle, StatusIs(absl::StatusCode::kDeadlineExceeded));
  std::string end = "tial\r\n";
  absl::Status rest = co_await pair->writer.WriteAll(end);
  SNOW_CO_RETURN_IF_ERROR(rest);
  absl::StatusOr<std::string> whole = co_await reader.ReadLine(kTimeout);
  EXPECT_THAT(whole, IsOk());
  EXPECT_EQ(whole.value_or(""), "partial");
  co_return absl::OkStatus();
}

TEST(LineReaderTest, ATimeoutIsDeadlineExceededAndKeepsThePartialLine) {
  EXPECT_THAT(RunOnTestRuntime(RealRuntimeOptions(2), TimesOut), IsOk());
}

Task<absl::Status> PassesGarbageThrough(Self self) {
  std::string garbage("\0\xff\xfe\x01 \x7f\0", 7);
  std::vector<std::string> chunks = Bytes(garbage + "\r\n" + std::string(1, '\0') + "\n");
  absl::StatusOr<TcpStream> stream = co_await Feed(self, std::move(chunks), /*paced=*/true);
  SNOW_CO_RETURN_IF_ERROR(stream.status());
  LineReader reader(std::move(*stream));
  absl::StatusOr<Lines> lines = co_await ReadAll(reader);
  SNOW_CO_RETURN_IF_ERROR(lines.status());
  EXPECT_THAT(*lines, ::testing::ElementsAre(garbage, std::string(1, '\0')));
  co_return absl::OkStatus();
}

TEST(LineReaderTest, GarbageBytesIncludingNulArePartOfTheLine) {
  EXPECT_THAT(RunOnTestRuntime(RealRuntimeOptions(2), PassesGarbageThrough), IsOk());
}

// "SET key 5\r\nhello\r\n": the payload after a header line, partly buffered, partly not.
Task<absl::Status> ReadsCountedPayloads(Self self, bool paced) {
  std::string payload(10000, 'p');
  std::vector<std::string> chunks = {"SET a 5\r\nhello\r\nSET b 10000\r\n" + payload.substr(0, 10),
                                     payload.substr(10) + "\r\nQUIT\n"};
  absl::StatusOr<TcpStream> stream = co_await Feed(self, std::move(chunks), paced);
  SNOW_CO_RETURN_IF_ERROR(stream.status());
  LineReader reader(std::move(*stream));
  absl::StatusOr<std::string> set_a = co_await reader.ReadLine(kTimeout);
  EXPECT_EQ(set_a.value_or(""), "SET a 5");
  absl::StatusOr<std::string> hello = co_await reader.ReadExactly(5, kTimeout);
  EXPECT_EQ(hello.value_or(""), "hello");
  absl::StatusOr<std::string> end_a = co_await reader.ReadLine(kTimeout);
  EXPECT_EQ(end_a.value_or("?"), "");
  absl::StatusOr<std::string> set_b = co_await reader.ReadLine(kTimeout);
  EXPECT_EQ(set_b.value_or(""), "SET b 10000");
  absl::StatusOr<std::string> big = co_await reader.ReadExactly(payload.size());
  EXPECT_THAT(big, IsOk());
  EXPECT_TRUE(big.value_or("") == payload);
  absl::StatusOr<Lines> rest = co_await ReadAll(reader);
  SNOW_CO_RETURN_IF_ERROR(rest.status());
  EXPECT_THAT(*rest, ::testing::ElementsAre("", "QUIT"));
  co_return absl::OkStatus();
}

TEST(LineReaderTest, ReadExactlyTakesBufferedBytesFirstThenTheStream) {
  EXPECT_THAT(RunOnTestRuntime(RealRuntimeOptions(2), ReadsCountedPayloads, true), IsOk());
  EXPECT_THAT(RunOnTestRuntime(RealRuntimeOptions(2), ReadsCountedPayloads, false), IsOk());
}

Task<absl::Status> CutsAPayloadShort(Self self) {
  std::vector<std::string> chunks = {"SET a 5\r\nhel"};
  absl::StatusOr<TcpStream> stream = co_await Feed(self, std::move(chunks), /*paced=*/true);
  SNOW_CO_RETURN_IF_ERROR(stream.status());
  LineReader reader(std::move(*stream));
  absl::StatusOr<std::string> header = co_await reader.ReadLine(kTimeout);
  EXPECT_EQ(header.value_or(""), "SET a 5");
  absl::StatusOr<std::string> payload = co_await reader.ReadExactly(5, kTimeout);
  EXPECT_THAT(payload, StatusIs(absl::StatusCode::kUnavailable));
  absl::StatusOr<std::string> after = co_await reader.ReadLine(kTimeout);
  EXPECT_THAT(after, StatusIs(absl::StatusCode::kFailedPrecondition, "lost its place"));
  co_return absl::OkStatus();
}

TEST(LineReaderTest, APayloadCutShortByTheEndOfStreamIsUnavailable) {
  EXPECT_THAT(RunOnTestRuntime(RealRuntimeOptions(2), CutsAPayloadShort), IsOk());
}

// ---- Cancellation ----

struct Blocking {
  Pid pid;
};

Task<absl::Status> BlockedInReadLine(Self self, TcpStream stream, Pid main) {
  LineReader reader(std::move(stream));
  self.Send(main, Blocking{self.pid()});  // the read begins in this same run of the actor
  absl::StatusOr<std::string> line = co_await reader.ReadLine();
  co_return line.status();
}

Task<absl::Status> KillsABlockedReader(Self self) {
  absl::StatusOr<Pair> pair = co_await ConnectPair();
  SNOW_CO_RETURN_IF_ERROR(pair.status());
  std::string partial = "a partial line";
  absl::Status sent = co_await pair->writer.WriteAll(partial);
  SNOW_CO_RETURN_IF_ERROR(sent);
  SpawnedMonitor reader = self.SpawnMonitor(SpawnOptions{.placement = Placement::kRoundRobin},
                                            BlockedInReadLine, std::move(pair->reader), self.pid());
  absl::StatusOr<Blocking> blocking = co_await self.ReceiveFor<Blocking>(kTimeout);
  SNOW_CO_RETURN_IF_ERROR(blocking.status());
  self.SendExit(reader.pid, KillReason());
  absl::StatusOr<Down> down = co_await self.ReceiveFor<Down>(kTimeout);
  SNOW_CO_RETURN_IF_ERROR(down.status());
  EXPECT_THAT(down->reason, StatusIs(absl::StatusCode::kAborted, "killed"));
  // The killed actor's stream is closed: the writer reads end of stream (or a reset, had the
  // kill come before the reader's recv took the bytes).
  std::vector<char> sink(16);
  absl::StatusOr<size_t> n = co_await pair->writer.ReadSome(sink, kTimeout);
  EXPECT_TRUE(n.ok() ? *n == 0 : absl::IsUnavailable(n.status())) << n.status();
  co_return absl::OkStatus();
}

TEST(LineReaderTest, KillingAnActorBlockedInReadLineCancelsTheRead) {
  EXPECT_THAT(RunOnTestRuntime(RealRuntimeOptions(2), KillsABlockedReader), IsOk());
}

// ---- TLS ----

Task<absl::Status> TlsWriter(Self, SocketAddress address, std::vector<std::string> chunks) {
  SNOW_CO_ASSIGN_OR_RETURN(TlsContext context, TlsContext::Create({}));
  absl::StatusOr<TcpStream> tcp = co_await TcpStream::Connect(address, kTimeout);
  SNOW_CO_RETURN_IF_ERROR(tcp.status());
  absl::StatusOr<TlsStream> tls = co_await TlsStream::Handshake(context, std::move(*tcp));
  SNOW_CO_RETURN_IF_ERROR(tls.status());
  for (const std::string& chunk : chunks) {
    absl::Status written = co_await tls->WriteAll(chunk);
    SNOW_CO_RETURN_IF_ERROR(written);
  }
  absl::Status closed = co_await tls->Close();  // close_notify: the reader's end of stream
  co_return closed;
}

Task<absl::Status> ReadsLinesOverTls(Self self) {
  SNOW_CO_ASSIGN_OR_RETURN(TlsCertificate certificate, TlsCertificate::GenerateSelfSigned());
  SNOW_CO_ASSIGN_OR_RETURN(TlsContext context, TlsContext::Create({.role = TlsRole::kServer,
                                                                   .certificate = certificate}));
  SNOW_CO_ASSIGN_OR_RETURN(TcpListener listener, TcpListener::Bind(SocketAddress::Loopback()));
  // Lines split across TLS records, and a line of 40,000 bytes that spans several records.
  std::string long_line(40000, 'L');
  std::vector<std::string> chunks = {"one\r\ntw", "o\nthr", "ee\r", "\n" + long_line, "\n\nlast"};
  self.Spawn(SpawnOptions{.placement = Placement::kRoundRobin}, TlsWriter, listener.local_address(),
             std::move(chunks));
  absl::StatusOr<TcpStream> tcp = co_await listener.Accept(kTimeout);
  SNOW_CO_RETURN_IF_ERROR(tcp.status());
  absl::StatusOr<TlsStream> tls = co_await TlsStream::Handshake(context, std::move(*tcp));
  SNOW_CO_RETURN_IF_ERROR(tls.status());
  LineReader reader(std::move(*tls));
  Lines lines;
  for (;;) {
    absl::StatusOr<std::string> line = co_await reader.ReadLine(kTimeout);
    if (absl::IsOutOfRange(line.status())) break;
    SNOW_CO_RETURN_IF_ERROR(line.status());
    lines.push_back(std::move(*line));
  }
  EXPECT_THAT(lines, ::testing::ElementsAre("one", "two", "three", long_line, "", "last"));
  absl::Status closed = co_await reader.stream().Close();
  co_return closed;
}

TEST(LineReaderTest, LinesOverTlsComeWholeUntilCloseNotify) {
  EXPECT_THAT(RunOnTestRuntime(RealRuntimeOptions(2), ReadsLinesOverTls), IsOk());
}

Task<absl::Status> ReadsCountedLines(Self self) {
  std::vector<std::string> chunks = Bytes("a\r\nb\nc\nd\n");
  chunks.push_back("e");  // then the stream ends without the third line ReadLines asks for
  absl::StatusOr<TcpStream> stream = co_await Feed(self, std::move(chunks), /*paced=*/true);
  SNOW_CO_RETURN_IF_ERROR(stream.status());
  LineReader reader(std::move(*stream));
  absl::StatusOr<Lines> two = co_await reader.ReadLines(2, kTimeout);
  SNOW_CO_RETURN_IF_ERROR(two.status());
  EXPECT_THAT(*two, ::testing::ElementsAre("a", "b"));
  absl::StatusOr<Lines> none = co_await reader.ReadLines(0, kTimeout);
  EXPECT_THAT(none, IsOk());
  EXPECT_TRUE(none.ok() && none->empty());
  EXPECT_THAT(co_await reader.ReadLines(4, kTimeout), StatusIs(absl::StatusCode::kOutOfRange));
  co_return absl::OkStatus();
}

TEST(LineReaderTest, ReadLinesReturnsThatManyLinesOrTheEndOfStream) {
  EXPECT_THAT(RunOnTestRuntime(RealRuntimeOptions(2), ReadsCountedLines), IsOk());
}

Task<absl::Status> ReadsTooFewLinesInTime(Self) {
  absl::StatusOr<Pair> pair = co_await ConnectPair();
  SNOW_CO_RETURN_IF_ERROR(pair.status());
  SNOW_CO_RETURN_IF_ERROR(co_await pair->writer.WriteAll(std::string_view("one\ntw")));
  LineReader reader(std::move(pair->reader));
  EXPECT_THAT(co_await reader.ReadLines(2, absl::Milliseconds(50)),
              StatusIs(absl::StatusCode::kDeadlineExceeded));
  // Nothing read is lost for the next call but the whole line "one", read by the failed call.
  SNOW_CO_RETURN_IF_ERROR(co_await pair->writer.WriteAll(std::string_view("o\n")));
  absl::StatusOr<std::string> rest = co_await reader.ReadLine(kTimeout);
  SNOW_CO_RETURN_IF_ERROR(rest.status());
  EXPECT_EQ(*rest, "two");
  co_return absl::OkStatus();
}

TEST(LineReaderTest, ReadLinesHasOneDeadlineForAllTheLines) {
  EXPECT_THAT(RunOnTestRuntime(RealRuntimeOptions(2), ReadsTooFewLinesInTime), IsOk());
}

// The server side of AnswerLines: answers "n" with n * 2, and ends the test's wait with its
// result.
Task<std::string> Double(std::string line) {
  co_await Yield();  // an answer that suspends, as a call to another actor would
  co_return std::to_string(std::stoll(line) * 2);
}

Task<absl::Status> AnswerDoubles(Self, TcpStream stream, std::reference_wrapper<int> answered) {
  co_return co_await AnswerLines(std::move(stream), [&](std::string line) {
    ++answered.get();
    return Double(std::move(line));
  });
}

Task<absl::Status> AnswersPipelinedLines(Self self) {
  absl::StatusOr<Pair> pair = co_await ConnectPair();
  SNOW_CO_RETURN_IF_ERROR(pair.status());
  int answered = 0;
  Pid server = self.SpawnMonitor(AnswerDoubles, std::move(pair->reader), std::ref(answered)).pid;
  std::string requests;
  for (int i = 0; i < 500; ++i) requests += std::to_string(i) + (i % 2 ? "\r\n" : "\n");
  SNOW_CO_RETURN_IF_ERROR(co_await pair->writer.WriteAll(requests));
  LineReader client(std::move(pair->writer));
  absl::StatusOr<Lines> answers = co_await client.ReadLines(500, kTimeout);
  SNOW_CO_RETURN_IF_ERROR(answers.status());
  for (int i = 0; i < 500; ++i) EXPECT_EQ((*answers)[i], std::to_string(i * 2));
  // The client closes its side: the server's loop ends normally.
  SNOW_CO_RETURN_IF_ERROR(co_await client.stream().Shutdown());
  absl::StatusOr<Down> down = co_await self.ReceiveFor<Down>(kTimeout);
  SNOW_CO_RETURN_IF_ERROR(down.status());
  EXPECT_EQ(down->pid, server);
  EXPECT_THAT(down->reason, IsOk());
  EXPECT_EQ(answered, 500);
  co_return absl::OkStatus();
}

TEST(LineReaderTest, AnswerLinesAnswersPipelinedLinesInOrderUntilThePeerCloses) {
  EXPECT_THAT(RunOnTestRuntime(RealRuntimeOptions(1), AnswersPipelinedLines), IsOk());
}

}  // namespace
}  // namespace snow::net
