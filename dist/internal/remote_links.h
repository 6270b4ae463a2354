// File: dist/internal/remote_links.h
//
// RemoteLinks: the links and monitors that cross one connection, kept so that losing it can be
// answered for (every link exits with noconnection, every monitor of a remote actor gets a
// Down), and the translation of monitor refs: a monitor the peer sets on a local actor gets a
// ref minted here, since the peer's refs may collide with this node's in the target's table.
// Touched only on the connection's shard.
#pragma once

#include <cstdint>
#include <optional>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "snow/core/pid.h"
#include "snow/core/signal_kind.h"

namespace snow::dist_internal {

class RemoteLinks {
 public:
  // A signal from local actor `from` to remote actor `to` is about to go: records the link or
  // monitor it sets up or takes down. Returns the ref to write, or nullopt when the signal has
  // nothing left to answer (a Down for a monitor the peer no longer holds).
  std::optional<uint64_t> Sending(SignalKind kind, Pid from, Pid to, uint64_t ref);
  // A signal from remote actor `from` to local actor `to` arrived: records it. Returns the ref
  // to deliver it with, or nullopt to drop it (a Down or demonitor for a monitor that is gone).
  // A demonitor goes to the actor the monitor was set on (`to` is set to it): a monitor set by
  // name is taken down through the name service.
  std::optional<uint64_t> Received(SignalKind kind, Pid from, Pid& to, uint64_t ref);
  // Local actor `from` holds monitor `ref` of `to`, a remote PID, that the peer does not know
  // of (a remote spawn's call, or its child's monitor before the child is known): a lost
  // connection answers for it, and its demonitor sends nothing.
  void NoteLocalMonitor(Pid from, Pid to, uint64_t ref);
  // Monitor `ref` (noted with NoteLocalMonitor) is of `to`, which the peer knows of.
  void Retarget(uint64_t ref, Pid to);
  // Remote actor `from` monitors local actor `to`: under `peer_ref` on its side, `local_ref`
  // here (a remote spawn's monitor, set up with the child).
  void MonitoredFromPeer(uint64_t local_ref, uint64_t peer_ref, Pid to);
  // Records a link between local actor `local` and remote actor `remote_pid`.
  void Linked(Pid local, Pid remote_pid) { links_.insert({local.bits(), remote_pid.bits()}); }
  // The connection is lost: links exit and monitors go Down with `reason` (in ref order), and
  // the peer's monitors are taken off their local targets. Empty afterwards.
  void ConnectionLost(const absl::Status& reason);

 private:
  // A link set up or taken down between a local actor and a remote one, either way.
  void NoteLink(SignalKind kind, Pid local, Pid remote_pid);

  absl::flat_hash_set<std::pair<uint64_t, uint64_t>> links_;  // {local pid, remote pid}
  // Monitors by local actors of remote ones: ref -> {watcher, target}.
  absl::flat_hash_map<uint64_t, std::pair<Pid, Pid>> monitors_out_;
  absl::flat_hash_set<uint64_t> local_only_;  // refs of monitors_out_ the peer does not know
  // Monitors by remote actors of local ones: the ref minted here <-> the peer's ref. The target
  // is kept so that ConnectionLost can take the monitor off it.
  struct MonitorIn {
    uint64_t peer_ref = 0;
    Pid target;
  };
  absl::flat_hash_map<uint64_t, MonitorIn> monitors_in_;
  absl::flat_hash_map<uint64_t, uint64_t> monitor_ref_from_peer_;
};

}  // namespace snow::dist_internal
