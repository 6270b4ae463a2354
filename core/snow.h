// File: core/snow.h
//
// Everything an actor program needs from core/: Runtime and Run, Self and Spawn, typed
// selective receive (AnyMessage for a catch-all), bounded mailboxes, links/monitors and exit
// reasons, services (Call/Cast), supervisors, Task, Sleep/Yield, Io, Pid/Ref and the status
// helpers.
#pragma once

#include "snow/core/actor.h"
#include "snow/core/any_message.h"
#include "snow/core/exit_reason.h"
#include "snow/core/io.h"
#include "snow/core/mailbox.h"
#include "snow/core/pid.h"
#include "snow/core/ref.h"
#include "snow/core/runtime.h"
#include "snow/core/service.h"
#include "snow/core/status.h"
#include "snow/core/supervisor.h"
#include "snow/core/task.h"
#include "snow/core/task_group.h"
#include "snow/core/time.h"
