// Event topics, as containerd names them, with the message each one carries
// (proto/contd/v1/event_types.proto).
#pragma once

namespace gantry::contd::topics {

inline constexpr char kContainerCreate[] = "/containers/create";   // ContainerCreate
inline constexpr char kContainerUpdate[] = "/containers/update";   // ContainerUpdate
inline constexpr char kContainerDelete[] = "/containers/delete";   // ContainerDelete
inline constexpr char kImageCreate[] = "/images/create";           // ImageCreate
inline constexpr char kImageUpdate[] = "/images/update";           // ImageUpdate
inline constexpr char kImageDelete[] = "/images/delete";           // ImageDelete
inline constexpr char kContentDelete[] = "/content/delete";        // ContentDelete
inline constexpr char kTaskCreate[] = "/tasks/create";             // TaskCreate
inline constexpr char kTaskStart[] = "/tasks/start";               // TaskStart
inline constexpr char kTaskExit[] = "/tasks/exit";                 // TaskExit
inline constexpr char kTaskDelete[] = "/tasks/delete";             // TaskDelete
inline constexpr char kTaskOOM[] = "/tasks/oom";                   // TaskOOM
inline constexpr char kTaskPaused[] = "/tasks/paused";             // TaskPaused
inline constexpr char kTaskResumed[] = "/tasks/resumed";           // TaskResumed
inline constexpr char kTaskExecAdded[] = "/tasks/exec-added";      // TaskExecAdded
inline constexpr char kTaskExecStarted[] = "/tasks/exec-started";  // TaskExecStarted
inline constexpr char kContdStart[] = "/contd/start";              // ContdStart

}  // namespace gantry::contd::topics
