// wire/wire.h — everything of the Snow Term Format in one include: the typed path (codec.h),
// Term (term.h), framing (frame.h) and the type-erased path (erased.h). See wire/STF.md.
//
// All of wire/ is synchronous, allocation-bounded and free of shared state: no shard affinity,
// nothing blocks, and distinct objects (buffers, readers, writers, frame decoders) may be used
// from any thread; one object is not safe for concurrent use. Functions return absl::Status /
// StatusOr and never throw, except std::bad_alloc on out-of-memory, like the standard library.
//
//   #include "snow/wire/wire.h"
//   snow::wire::ByteBuffer buf;
//   absl::Status s = snow::wire::EncodeFrame(msg, buf);
#pragma once

#include "snow/wire/byte_buffer.h"
#include "snow/wire/codec.h"
#include "snow/wire/erased.h"
#include "snow/wire/frame.h"
#include "snow/wire/limits.h"
#include "snow/wire/reader.h"
#include "snow/wire/struct.h"
#include "snow/wire/term.h"
#include "snow/wire/types.h"
#include "snow/wire/writer.h"
