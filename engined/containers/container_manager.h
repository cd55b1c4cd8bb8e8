// The containers' lifecycle, as dockerd's daemon package: create (image
// defaults merged, snapshot prepared, contd container record), start (OCI
// spec, task with FIFOs and json-file log), the exit monitor with restart
// policies and auto-remove, stop/kill/pause, wait conditions, attach, and
// restore after an engined restart without touching running containers.
#pragma once

#include <atomic>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "absl/status/statusor.h"
#include "common/thread_group.h"
#include "engined/containers/container.h"
#include "engined/containers/container_fs.h"
#include "engined/containers/container_io.h"
#include "engined/containers/container_stats.h"
#include "engined/containers/container_store.h"
#include "engined/contd/contd_client.h"
#include "engined/daemon/event_hub.h"
#include "engined/images/image_service.h"
#include "engined/network/network_manager.h"
#include "engined/volumes/volume_service.h"

namespace gantry::engined {

struct ContainerPaths {
  std::string data_root;  // containers/<id>/: log, hosts, hostname, resolv.conf
  std::string exec_root;  // containers/<id>/: stdio FIFOs
};

enum class WaitCondition { kNotRunning, kNextExit, kRemoved };

class ContainerManager {
 public:
  ContainerManager(ContdClient& contd, ImageService& images, VolumeService& volumes,
                   network::NetworkManager& networks, ContainerStore& store, EventHub& events,
                   ContainerPaths paths);
  ~ContainerManager();
  ContainerManager(const ContainerManager&) = delete;
  ContainerManager& operator=(const ContainerManager&) = delete;

  // engined is stopping: waits and attached clients end now (the
  // containers run on), so the HTTP server can close their connections.
  void Shutdown();
  bool ShuttingDown() const { return shutting_down_; }

  // Loads the stored containers, reconnects to their running tasks, records
  // the exits that happened meanwhile and restarts per their policies.
  absl::Status Restore();

  // POST /containers/create: the new container's ID. `config` and
  // `host_config` are Docker's JSON; errors name the field.
  absl::StatusOr<std::string> Create(const std::string& name, nlohmann::json config,
                                     nlohmann::json host_config,
                                     nlohmann::json networking_config = nlohmann::json());
  // docker network connect / disconnect: live when it runs, else at its
  // next start.
  absl::Status ConnectNetwork(const std::string& ref, const std::string& network_ref,
                              nlohmann::json endpoint_settings);
  absl::Status DisconnectNetwork(const std::string& ref, const std::string& network_ref,
                                 bool force);
  // NOT_MODIFIED-like: returns false when it was already running.
  absl::StatusOr<bool> Start(const std::string& ref);
  // Returns false when it was not running.
  absl::StatusOr<bool> Stop(const std::string& ref, std::optional<int> timeout_seconds,
                            const std::string& signal);
  absl::Status Restart(const std::string& ref, std::optional<int> timeout_seconds);
  absl::Status Kill(const std::string& ref, const std::string& signal);
  absl::Status Pause(const std::string& ref);
  absl::Status Unpause(const std::string& ref);
  // With `remove_volumes` (docker rm -v), its anonymous volumes go too.
  absl::Status Remove(const std::string& ref, bool force, bool remove_volumes = false);
  absl::Status Rename(const std::string& ref, const std::string& new_name);
  absl::Status Resize(const std::string& ref, uint32_t height, uint32_t width);
  // `ps -ef`-like: the task's PIDs.
  absl::StatusOr<std::vector<uint32_t>> Pids(const std::string& ref);

  // The container's filesystem for docker cp: its mount namespace while it
  // runs, its snapshot mounted meanwhile when it does not.
  absl::StatusOr<std::unique_ptr<ContainerFs>> OpenFs(const std::string& ref);

  // The running container's cgroup counters (NOT_FOUND when not running).
  absl::StatusOr<StatsSample> Stats(const std::string& id) { return SampleStats(contd_, id); }

  // The health monitor's verdict: State.Health, saved; a changed status is
  // a "health_status: ..." event.
  absl::Status SetHealth(const std::string& id, nlohmann::json health);

  // By full ID, name, or unique ID prefix. NOT_FOUND "No such container: ref".
  absl::StatusOr<Container> Get(const std::string& ref);
  std::vector<Container> List();

  // Blocks until `condition` holds; the exit code.
  absl::StatusOr<int> Wait(const std::string& ref, WaitCondition condition);

  // Feeds the container's live output to `sink` until it exits (`on_end`).
  // The handle is for Detach.
  struct Attachment {
    std::string id;
    int handle = 0;
  };
  absl::StatusOr<Attachment> Attach(const std::string& ref, ContainerIo::Sink sink,
                                    std::function<void()> on_end);
  void Detach(const Attachment& attachment);
  absl::Status WriteStdin(const std::string& id, absl::string_view data);
  // The client's stdin ended: the container's ends too when it asked for
  // that (StdinOnce, as `docker run -i`).
  absl::Status StdinEnded(const std::string& id);

 private:
  struct Entry {
    std::mutex mu;  // guards everything below
    std::condition_variable changed;
    Container container;
    std::unique_ptr<ContainerIo> io;
    uint64_t exits = 0;
    bool removed = false;
    // The attached client's stdin ended before the process started: its
    // stdin is closed once it runs (docker run -i with piped input).
    bool close_stdin_at_start = false;
    std::unique_ptr<grpc::ClientContext> wait_context;  // the monitor's Tasks.Wait
    std::mutex lifecycle;  // serializes start/stop/remove of this container
  };

  absl::StatusOr<std::shared_ptr<Entry>> Find(const std::string& ref);
  absl::Status Save(Entry& entry);                      // entry.mu held
  absl::StatusOr<ContainerIo*> EnsureIo(Entry& entry);  // entry.mu held
  absl::Status StartLocked(const std::shared_ptr<Entry>& entry);
  absl::Status StartTask(const std::shared_ptr<Entry>& entry);
  // Start: the container's network namespace and endpoints (or the host's,
  // or another container's), its /etc/hosts and resolv.conf to match.
  absl::Status AttachNetworks(const std::shared_ptr<Entry>& entry);
  // Exit or removal: endpoints, published ports and the namespace go.
  void DetachNetworks(const std::shared_ptr<Entry>& entry);
  // NetworkSettings refreshed from the network manager; entry.mu held.
  void RefreshNetworkSettings(Container& c);
  absl::Status KillTask(const std::string& id, int signal, bool all);
  // Pause (true) or unpause, with Docker's state checks and event.
  absl::Status SetPaused(const std::string& ref, bool paused);
  // Deletes the container's task, if it has one (its exit is recorded).
  void DeleteTask(const std::string& id);
  // Signal, wait up to the timeout, SIGKILL; "kill" events, and "stop"
  // unless removal does the stopping (docker rm -f).
  absl::StatusOr<bool> StopEntry(const std::shared_ptr<Entry>& entry,
                                 std::optional<int> timeout_seconds, const std::string& signal_name,
                                 bool publish_stop);
  absl::Status CloseTaskStdin(const std::string& id);
  void Monitor(std::shared_ptr<Entry> entry);
  void OnExit(const std::shared_ptr<Entry>& entry, int exit_code, absl::Time exited_at);
  absl::Status RemoveLocked(const std::shared_ptr<Entry>& entry, bool remove_volumes);
  // Create: host directories of -v binds, and the volumes that do not
  // exist yet (their names go to `created`, for the rollback).
  absl::Status PrepareMounts(Container& c, std::vector<std::string>& created);
  // Start: volumes mounted (device ones) and filled from the image when
  // empty; undone by UnmountVolumes.
  absl::Status MountVolumes(const Container& c);
  void UnmountVolumes(const Container& c);
  // The container's snapshot mounted for the caller (docker cp, copy-up).
  absl::StatusOr<std::unique_ptr<ContainerFs>> MountSnapshot(const std::string& id);
  // /etc/hostname, /etc/hosts (with the container's own addresses) and
  // resolv.conf (the embedded DNS server's on user-defined networks).
  absl::Status WriteEtcFiles(Container& container, const std::vector<std::string>& addresses = {},
                             bool embedded_dns = false);
  // A "container" event about `c`, with its name, image and labels.
  void Publish(const Container& c, const std::string& action,
               std::map<std::string, std::string> extra = {});
  std::string ContainerDir(const std::string& id) const;
  std::string FifoDir(const std::string& id) const;
  void Spawn(std::function<void()> fn);

  ContdClient& contd_;
  ImageService& images_;
  VolumeService& volumes_;
  network::NetworkManager& networks_;
  ContainerStore& store_;
  EventHub& events_;
  const ContainerPaths paths_;

  std::mutex mu_;  // guards entries_
  std::map<std::string, std::shared_ptr<Entry>> entries_;
  ThreadGroup threads_;  // exit monitors and delayed restarts
  // Held from a volume's emptiness check to the end of its copy-up, so two
  // containers starting on a new volume do not both fill it.
  std::mutex copy_up_mu_;
  std::atomic<bool> shutting_down_ = false;
};

}  // namespace gantry::engined
