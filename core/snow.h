// File: core/snow.h
//
// Everything an actor program needs from core/: Runtime and Run, Self and Spawn, typed
// selective receive (AnyMessage for a catch-all), links/monitors and exit reasons, services
// (Call/Cast), supervisors, Task, Sleep/Yield, Io, Pid/Ref and the status helpers.
#pragma once

#include "core/actor.h"
#include "core/any_message.h"
#include "core/exit_reason.h"
#include "core/io.h"
#include "core/pid.h"
#include "core/ref.h"
#include "core/runtime.h"
#include "core/service.h"
#include "core/status.h"
#include "core/supervisor.h"
#include "core/task.h"
#include "core/task_group.h"
#include "core/time.h"
