// File: tools/demo_cluster.h
//
// Part 6 of the main job: a local cluster of three Snow nodes in three processes (this one and
// two snow-node children), meshing, carrying traffic, and surviving the loss of one.
#pragma once

#include "absl/status/status.h"
#include "snow/core/actor.h"
#include "snow/core/task.h"

namespace snow::demo {

Task<absl::Status> Cluster(Self self, bool quick);

}  // namespace snow::demo
