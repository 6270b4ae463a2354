// File: core/signal_kind.h
//
// The signals actors exchange for links, monitors and exits. Programs never see them as such
// (they see Exit and Down messages); a transport that carries them to other nodes does
// (core/remote.h), and gives each kind its own code on its wire: these values are not a wire
// format.
#pragma once

#include <cstdint>

namespace snow {

enum class SignalKind : uint8_t {
  kLink,       // `from` linked itself to the target
  kUnlink,     // `from` removed its link
  kLinkExit,   // linked actor `from` ended with `reason`
  kExit,       // `from` sent an exit signal (Self::SendExit)
  kMonitor,    // `from` monitors the target under `ref`
  kDemonitor,  // `from` dropped monitor `ref`
  kDown,       // the actor `from`, monitored under `ref`, ended with `reason`
};

}  // namespace snow
