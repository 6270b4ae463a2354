#include "snow/dist/internal/remote_links.h"

#include <algorithm>
#include <vector>

#include "snow/core/remote.h"

namespace snow::dist_internal {

void RemoteLinks::NoteLink(SignalKind kind, Pid local, Pid remote_pid) {
  if (kind == SignalKind::kLink) {
    links_.insert({local.bits(), remote_pid.bits()});
  } else if (kind == SignalKind::kUnlink || kind == SignalKind::kLinkExit) {
    links_.erase({local.bits(), remote_pid.bits()});
  }
}

std::optional<uint64_t> RemoteLinks::Sending(SignalKind kind, Pid from, Pid to, uint64_t ref) {
  NoteLink(kind, from, to);
  switch (kind) {
    case SignalKind::kMonitor:
      monitors_out_[ref] = {from, to};
      break;
    case SignalKind::kDemonitor:
      monitors_out_.erase(ref);
      if (local_only_.erase(ref) > 0) return std::nullopt;  // nothing to take down there
      break;
    case SignalKind::kDown: {
      // Answering a monitor the peer set: give it back its own ref.
      auto it = monitors_in_.find(ref);
      if (it == monitors_in_.end()) return std::nullopt;
      const uint64_t peer_ref = it->second.peer_ref;
      monitor_ref_from_peer_.erase(peer_ref);
      monitors_in_.erase(it);
      return peer_ref;
    }
    default:  // links (noted above) and exits
      break;
  }
  return ref;
}

std::optional<uint64_t> RemoteLinks::Received(SignalKind kind, Pid from, Pid& to, uint64_t ref) {
  NoteLink(kind, to, from);
  switch (kind) {
    case SignalKind::kMonitor: {
      const uint64_t local = remote::NewRef();
      MonitoredFromPeer(local, ref, to);
      return local;
    }
    case SignalKind::kDemonitor: {
      auto it = monitor_ref_from_peer_.find(ref);
      if (it == monitor_ref_from_peer_.end()) return std::nullopt;
      const uint64_t local = it->second;
      if (auto in = monitors_in_.find(local); in != monitors_in_.end()) {
        to = in->second.target;
        monitors_in_.erase(in);
      }
      monitor_ref_from_peer_.erase(it);
      return local;
    }
    case SignalKind::kDown:
      if (monitors_out_.erase(ref) == 0) return std::nullopt;
      local_only_.erase(ref);
      break;
    default:  // links (noted above) and exits
      break;
  }
  return ref;
}

void RemoteLinks::NoteLocalMonitor(Pid from, Pid to, uint64_t ref) {
  monitors_out_[ref] = {from, to};
  local_only_.insert(ref);
}

void RemoteLinks::Retarget(uint64_t ref, Pid to) {
  auto it = monitors_out_.find(ref);
  if (it == monitors_out_.end()) return;
  it->second.second = to;
  local_only_.erase(ref);
}

void RemoteLinks::MonitoredFromPeer(uint64_t local_ref, uint64_t peer_ref, Pid to) {
  monitors_in_[local_ref] = MonitorIn{peer_ref, to};
  monitor_ref_from_peer_[peer_ref] = local_ref;
}

void RemoteLinks::ConnectionLost(const absl::Status& reason) {
  for (const auto& [local, remote_pid] : links_) {
    remote::Deliver(RemoteEnvelope::Signal(Pid::FromBits(local), SignalKind::kLinkExit,
                                           Pid::FromBits(remote_pid), 0, reason));
  }
  links_.clear();
  std::vector<std::pair<uint64_t, std::pair<Pid, Pid>>> monitors(monitors_out_.begin(),
                                                                 monitors_out_.end());
  std::sort(monitors.begin(), monitors.end(),
            [](const auto& a, const auto& b) { return a.first < b.first; });
  for (const auto& [ref, who] : monitors) {
    remote::Deliver(RemoteEnvelope::Signal(who.first, SignalKind::kDown, who.second, ref, reason));
  }
  monitors_out_.clear();
  local_only_.clear();
  // The peer's monitors of local actors die with the connection (its side fired them with
  // noconnection): drop them from their targets now, not when each target ends.
  for (const auto& [local_ref, in] : monitors_in_) {
    remote::Deliver(RemoteEnvelope::Signal(in.target, SignalKind::kDemonitor, Pid(), local_ref,
                                           absl::OkStatus()));
  }
  monitors_in_.clear();
  monitor_ref_from_peer_.clear();
}

}  // namespace snow::dist_internal
