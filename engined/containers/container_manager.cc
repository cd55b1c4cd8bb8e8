#include "engined/containers/container_manager.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>

#include <fstream>
#include <random>
#include <set>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "common/errors.h"
#include "common/file_util.h"
#include "common/log.h"
#include "common/malloc_tuning.h"
#include "common/mount_list.h"
#include "common/proto_time.h"
#include "common/signal_name.h"
#include "engined/containers/oci_spec.h"
#include "engined/containers/user_lookup.h"
#include "engined/volumes/copy_up.h"

namespace gantry::engined {
namespace {

constexpr char kSpecTypeUrl[] = "types.containerd.io/opencontainers/runtime-spec/1/Spec";
constexpr char kRuntimeName[] = "io.gantry.ocirun.v1";
constexpr int kDefaultStopTimeoutSeconds = 10;

// Docker's random names, adjective_scientist, from a shorter list.
std::string RandomName() {
  static const char* const kLeft[] = {"admiring", "bold",    "brave",  "clever", "eager",
                                      "focused",  "gallant", "happy",  "jolly",  "keen",
                                      "modest",   "nifty",   "quirky", "serene", "vibrant"};
  static const char* const kRight[] = {"babbage", "curie",    "darwin",  "euclid",  "fermi",
                                       "hopper",  "lovelace", "noether", "pascal",  "ritchie",
                                       "shannon", "tesla",    "turing",  "wozniak", "yonath"};
  static thread_local std::mt19937 rng(std::random_device{}());
  return absl::StrCat(kLeft[rng() % std::size(kLeft)], "_", kRight[rng() % std::size(kRight)],
                      rng() % 100);
}

absl::Status ValidateName(const std::string& name) {
  if (!IsValidName(name)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "Invalid container name (", name, "), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed"));
  }
  return absl::OkStatus();
}

std::vector<std::string> StringList(const nlohmann::json& value) {
  if (value.is_string()) return {value.get<std::string>()};
  if (!value.is_array()) return {};
  return value.get<std::vector<std::string>>();
}

// The image's Env with the container's on top, by variable name.
std::vector<std::string> MergeEnv(const std::vector<std::string>& image,
                                  const std::vector<std::string>& container) {
  std::vector<std::string> merged = image;
  for (const std::string& entry : container) {
    const std::string key = entry.substr(0, entry.find('='));
    auto same = std::find_if(merged.begin(), merged.end(), [&key](const std::string& e) {
      return e.substr(0, e.find('=')) == key;
    });
    if (same != merged.end()) {
      *same = entry;
    } else {
      merged.push_back(entry);
    }
  }
  return merged;
}

// Config with the image's defaults where the client gave none, as
// dockerd's merge(): Env merged, Entrypoint replacing the image's Cmd.
absl::Status MergeImageConfig(const contd::images::ContainerConfig& image, nlohmann::json& config) {
  const bool has_entrypoint = config.contains("Entrypoint") && !config["Entrypoint"].is_null() &&
                              !StringList(config["Entrypoint"]).empty();
  const bool has_cmd =
      config.contains("Cmd") && !config["Cmd"].is_null() && !StringList(config["Cmd"]).empty();
  if (!has_entrypoint)
    config["Entrypoint"] =
        image.entrypoint.empty() ? nlohmann::json() : nlohmann::json(image.entrypoint);
  if (!has_cmd && !has_entrypoint)
    config["Cmd"] = image.cmd.empty() ? nlohmann::json() : nlohmann::json(image.cmd);
  std::vector<std::string> env =
      MergeEnv(image.env, StringList(config.value("Env", nlohmann::json())));
  config["Env"] = env;
  if (config.value("WorkingDir", "").empty()) config["WorkingDir"] = image.working_dir;
  if (config.value("User", "").empty()) config["User"] = image.user;
  if (config.value("StopSignal", "").empty() && !image.stop_signal.empty()) {
    config["StopSignal"] = image.stop_signal;
  }
  nlohmann::json labels = image.labels;
  if (config.contains("Labels") && config["Labels"].is_object()) labels.update(config["Labels"]);
  config["Labels"] = labels;
  if (!image.volumes.empty()) {
    if (!config.contains("Volumes") || !config["Volumes"].is_object()) {
      config["Volumes"] = nlohmann::json::object();
    }
    for (const std::string& path : image.volumes)
      config["Volumes"][path] = nlohmann::json::object();
  }
  if (!config.contains("ExposedPorts") || config["ExposedPorts"].is_null()) {
    nlohmann::json ports = nlohmann::json::object();
    for (const std::string& port : image.exposed_ports) ports[port] = nlohmann::json::object();
    if (!ports.empty()) config["ExposedPorts"] = ports;
  }
  return absl::OkStatus();
}

// /etc/resolv.conf for a container: the host's, without loopback
// nameservers the container cannot reach (Docker's filter); on user-defined
// networks the embedded DNS server instead, with the host's search domains.
std::string ResolvConf(bool embedded_dns) {
  absl::StatusOr<std::string> host = ReadFile("/etc/resolv.conf");
  std::string out;
  bool any_nameserver = false;
  if (embedded_dns) out = "nameserver 127.0.0.11\noptions ndots:0\n";
  for (absl::string_view line : absl::StrSplit(host.ok() ? *host : "", '\n')) {
    if (embedded_dns) {
      if (absl::StartsWith(line, "search")) absl::StrAppend(&out, line, "\n");
      continue;
    }
    if (absl::StartsWith(line, "nameserver")) {
      absl::string_view address = absl::StripAsciiWhitespace(line.substr(10));
      if (absl::StartsWith(address, "127.") || address == "::1") continue;
      any_nameserver = true;
    }
    if (!line.empty()) absl::StrAppend(&out, line, "\n");
  }
  if (!any_nameserver && !embedded_dns) out += "nameserver 8.8.8.8\nnameserver 8.8.4.4\n";
  return out;
}

bool IsRunningStatus(const std::string& status) {
  return status == "running" || status == "paused";
}

}  // namespace

ContainerManager::ContainerManager(ContdClient& contd, ImageService& images, VolumeService& volumes,
                                   network::NetworkManager& networks, ContainerStore& store,
                                   EventHub& events, ContainerPaths paths)
    : contd_(contd),
      images_(images),
      volumes_(volumes),
      networks_(networks),
      store_(store),
      events_(events),
      paths_(std::move(paths)) {}

void ContainerManager::Publish(const Container& c, const std::string& action,
                               std::map<std::string, std::string> extra) {
  extra["name"] = c.name;
  extra["image"] = c.image;
  const nlohmann::json labels = c.config.value("Labels", nlohmann::json::object());
  for (const auto& [key, value] : labels.items()) {
    if (value.is_string()) extra.emplace(key, value.get<std::string>());
  }
  events_.Publish("container", action, c.id, std::move(extra));
}

ContainerManager::~ContainerManager() {
  Shutdown();
  threads_.JoinAll();
}

void ContainerManager::Shutdown() {
  std::lock_guard lock(mu_);
  shutting_down_ = true;
  for (auto& [id, entry] : entries_) {
    std::lock_guard entry_lock(entry->mu);
    if (entry->wait_context) entry->wait_context->TryCancel();
    if (entry->io) entry->io->DetachAll();
    entry->changed.notify_all();
  }
}

std::string ContainerManager::ContainerDir(const std::string& id) const {
  return absl::StrCat(paths_.data_root, "/containers/", id);
}
std::string ContainerManager::FifoDir(const std::string& id) const {
  return absl::StrCat(paths_.exec_root, "/containers/", id);
}

void ContainerManager::Spawn(std::function<void()> fn) {
  if (!shutting_down_) threads_.Spawn(std::move(fn));
}

absl::StatusOr<std::shared_ptr<ContainerManager::Entry>> ContainerManager::Find(
    const std::string& ref) {
  std::lock_guard lock(mu_);
  if (auto it = entries_.find(ref); it != entries_.end()) return it->second;
  for (auto& [id, entry] : entries_) {
    std::lock_guard entry_lock(entry->mu);
    if (entry->container.name == absl::StripPrefix(ref, "/")) return entry;
  }
  std::shared_ptr<Entry> match;
  if (!ref.empty()) {
    for (auto& [id, entry] : entries_) {
      if (!absl::StartsWith(id, ref)) continue;
      if (match) {
        return absl::InvalidArgumentError(
            absl::StrCat("multiple IDs found with provided prefix: ", ref));
      }
      match = entry;
    }
  }
  if (!match) return absl::NotFoundError(absl::StrCat("No such container: ", ref));
  return match;
}

absl::Status ContainerManager::Save(Entry& entry) { return store_.Put(entry.container); }

absl::Status ContainerManager::SetHealth(const std::string& id, nlohmann::json health) {
  GANTRY_ASSIGN_OR_RETURN(std::shared_ptr<Entry> entry, Find(id));
  std::lock_guard lock(entry->mu);
  Container& c = entry->container;
  // A probe that ends as the container stops or goes changes nothing.
  if (entry->removed || !c.state.Running()) return absl::OkStatus();
  const std::string before = c.state.health.is_object() ? c.state.health.value("Status", "") : "";
  const std::string after = health.value("Status", "");
  c.state.health = std::move(health);
  if (after != before && after != "starting") Publish(c, "health_status: " + after);
  return Save(*entry);
}

absl::StatusOr<Container> ContainerManager::Get(const std::string& ref) {
  GANTRY_ASSIGN_OR_RETURN(std::shared_ptr<Entry> entry, Find(ref));
  std::lock_guard lock(entry->mu);
  return entry->container;
}

std::vector<Container> ContainerManager::List() {
  std::vector<Container> containers;
  std::lock_guard lock(mu_);
  for (auto& [id, entry] : entries_) {
    std::lock_guard entry_lock(entry->mu);
    if (!entry->removed) containers.push_back(entry->container);
  }
  std::sort(containers.begin(), containers.end(),
            [](const Container& a, const Container& b) { return a.created > b.created; });
  return containers;
}

absl::Status ContainerManager::WriteEtcFiles(Container& c,
                                             const std::vector<std::string>& addresses,
                                             bool embedded_dns) {
  const std::string dir = ContainerDir(c.id);
  c.hostname_path = dir + "/hostname";
  c.hosts_path = dir + "/hosts";
  c.resolv_conf_path = dir + "/resolv.conf";
  const std::string hostname =
      c.config.value("Hostname", "").empty() ? c.ShortId() : c.config.value("Hostname", "");
  GANTRY_RETURN_IF_ERROR(WriteFileAtomic(c.hostname_path, hostname + "\n"));
  std::string hosts =
      "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\nfe00::0\tip6-localnet\n"
      "ff00::0\tip6-mcastprefix\nff02::1\tip6-allnodes\nff02::2\tip6-allrouters\n";
  for (const std::string& address : addresses)
    absl::StrAppend(&hosts, address, "\t", hostname, "\n");
  GANTRY_RETURN_IF_ERROR(WriteFileAtomic(c.hosts_path, hosts));
  return WriteFileAtomic(c.resolv_conf_path, ResolvConf(embedded_dns));
}

absl::StatusOr<std::string> ContainerManager::Create(const std::string& requested_name,
                                                     nlohmann::json config,
                                                     nlohmann::json host_config,
                                                     nlohmann::json networking_config) {
  if (!config.is_object()) return absl::InvalidArgumentError("config: expected an object");
  if (host_config.is_null()) host_config = nlohmann::json::object();
  if (!host_config.is_object()) return absl::InvalidArgumentError("HostConfig: expected an object");
  const std::string image_ref = config.value("Image", "");
  if (image_ref.empty()) return absl::InvalidArgumentError("Config.Image: no image given");
  if (!requested_name.empty()) GANTRY_RETURN_IF_ERROR(ValidateName(requested_name));
  const std::string restart =
      host_config.value("RestartPolicy", nlohmann::json::object()).value("Name", "");
  if (!restart.empty() && restart != "no" && restart != "always" && restart != "on-failure" &&
      restart != "unless-stopped") {
    return absl::InvalidArgumentError(
        absl::StrCat("HostConfig.RestartPolicy.Name: invalid restart policy '", restart, "'"));
  }
  if (host_config.value("AutoRemove", false) && !restart.empty() && restart != "no") {
    return absl::InvalidArgumentError(
        "HostConfig.AutoRemove: can't create 'AutoRemove' container with restart policy");
  }

  GANTRY_ASSIGN_OR_RETURN(ImageDetails image, images_.Find(image_ref));
  GANTRY_RETURN_IF_ERROR(MergeImageConfig(image.resolved.config.config, config));

  Container c;
  c.id = NewRandomId();
  c.name = requested_name.empty() ? RandomName() : requested_name;
  c.created = absl::Now();
  c.image = image_ref;
  c.image_id = image.id;
  std::vector<std::string> command = StringList(config.value("Entrypoint", nlohmann::json()));
  std::vector<std::string> cmd = StringList(config.value("Cmd", nlohmann::json()));
  command.insert(command.end(), cmd.begin(), cmd.end());
  if (command.empty()) return absl::InvalidArgumentError("No command specified");
  c.path = command[0];
  c.args.assign(command.begin() + 1, command.end());
  config["Image"] = image_ref;
  if (config.value("Hostname", "").empty()) config["Hostname"] = c.ShortId();
  if (!host_config.contains("NetworkMode")) host_config["NetworkMode"] = "default";
  if (!host_config.contains("LogConfig") || !host_config["LogConfig"].is_object() ||
      host_config["LogConfig"].value("Type", "").empty()) {
    host_config["LogConfig"] = {{"Type", "json-file"}, {"Config", nlohmann::json::object()}};
  }
  const std::string log_type = host_config["LogConfig"].value("Type", "");
  if (log_type != "json-file" && log_type != "none") {
    return absl::InvalidArgumentError(absl::StrCat("HostConfig.LogConfig.Type: logging driver \"",
                                                   log_type, "\" is not supported"));
  }
  GANTRY_ASSIGN_OR_RETURN(
      c.mounts,
      ParseMountPoints(config, host_config,
                       [this](const std::string& ref) -> absl::StatusOr<std::vector<MountPoint>> {
                         GANTRY_ASSIGN_OR_RETURN(Container other, Get(ref));
                         return other.mounts;
                       }));
  // The networks: NetworkMode's first, then NetworkingConfig's.
  const std::string network_mode = host_config.value("NetworkMode", "default");
  if (!absl::StartsWith(network_mode, "container:")) {
    const std::string primary = network_mode == "default" ? "bridge" : network_mode;
    GANTRY_ASSIGN_OR_RETURN(network::Network network, networks_.Get(primary));
    c.networks[network.name] = nlohmann::json::object();
    const nlohmann::json endpoints =
        networking_config.is_object()
            ? networking_config.value("EndpointsConfig", nlohmann::json::object())
            : nlohmann::json::object();
    const nlohmann::json endpoint_map =
        endpoints.is_object() ? endpoints : nlohmann::json::object();
    for (const auto& [ref, settings] : endpoint_map.items()) {
      // The docker CLI names the default network "default", as NetworkMode.
      absl::StatusOr<network::Network> other = networks_.Get(ref == "default" ? "bridge" : ref);
      if (!other.ok()) return Annotate(other.status(), "NetworkingConfig.EndpointsConfig");
      if ((!network.has_endpoints() || !other->has_endpoints()) && other->id != network.id) {
        return absl::InvalidArgumentError(
            "NetworkingConfig.EndpointsConfig: container cannot be connected to host or none "
            "network and others");
      }
      c.networks[other->name] = settings.is_object() ? settings : nlohmann::json::object();
    }
  }
  GANTRY_RETURN_IF_ERROR(
      network::ParsePortBindings(host_config.value("PortBindings", nlohmann::json()),
                                 host_config.value("PublishAllPorts", false), {})
          .status());
  c.config = std::move(config);
  c.host_config = std::move(host_config);
  // The spec is built now too, so that bad HostConfig fails the create.
  const std::string dir = ContainerDir(c.id);
  c.log_path = log_type == "json-file" ? absl::StrCat(dir, "/", c.id, "-json.log") : "";

  // Undo what was done when a later step fails: a failed create leaves nothing.
  bool dir_made = false, snapshot_made = false, record_made = false;
  std::vector<std::string> volumes_made;
  auto rollback = [&] {
    for (const std::string& volume : volumes_made) (void)volumes_.Remove(volume);
    if (record_made) {
      contd::v1::DeleteContainerRequest request;
      request.set_id(c.id);
      google::protobuf::Empty empty;
      auto context = ContdClient::Context();
      (void)contd_.containers().Delete(context.get(), request, &empty);
    }
    if (snapshot_made) {
      contd::v1::RemoveSnapshotRequest request;
      request.set_snapshotter(kSnapshotter);
      request.set_key(c.id);
      google::protobuf::Empty empty;
      auto context = ContdClient::Context();
      (void)contd_.snapshots().Remove(context.get(), request, &empty);
    }
    if (dir_made) (void)RemoveTree(dir);
  };

  absl::Status status = [&]() -> absl::Status {
    GANTRY_RETURN_IF_ERROR(MakeDirs(dir, 0710));
    dir_made = true;
    GANTRY_RETURN_IF_ERROR(WriteEtcFiles(c));
    GANTRY_RETURN_IF_ERROR(PrepareMounts(c, volumes_made));
    GANTRY_ASSIGN_OR_RETURN(nlohmann::json spec, BuildOciSpec(c));
    // The record first: it names the snapshot, so garbage collection in
    // contd keeps the snapshot from the moment it exists.
    {
      contd::v1::CreateContainerRequest request;
      contd::v1::Container* record = request.mutable_container();
      record->set_id(c.id);
      record->set_image(image.names.empty() ? image.id : image.names.front());
      record->mutable_runtime()->set_name(kRuntimeName);
      record->mutable_spec()->set_type_url(kSpecTypeUrl);
      record->mutable_spec()->set_value(spec.dump());
      record->set_snapshotter(kSnapshotter);
      record->set_snapshot_key(c.id);
      (*record->mutable_labels())["com.docker/engine.bundle.path"] = dir;
      contd::v1::CreateContainerResponse response;
      auto context = ContdClient::Context();
      GANTRY_RETURN_IF_ERROR(
          FromGrpc(contd_.containers().Create(context.get(), request, &response), "create"));
      record_made = true;
    }
    {
      contd::v1::PrepareSnapshotRequest request;
      request.set_snapshotter(kSnapshotter);
      request.set_key(c.id);
      if (!image.resolved.chain_ids.empty()) request.set_parent(image.resolved.chain_ids.back());
      contd::v1::PrepareSnapshotResponse response;
      auto context = ContdClient::Context();
      GANTRY_RETURN_IF_ERROR(FromGrpc(contd_.snapshots().Prepare(context.get(), request, &response),
                                      "prepare the container's root filesystem"));
      snapshot_made = true;
    }
    auto entry = std::make_shared<Entry>();
    entry->container = c;
    std::lock_guard lock(mu_);
    for (auto& [id, other] : entries_) {
      std::lock_guard other_lock(other->mu);
      if (other->container.name == c.name && !other->removed) {
        return absl::AlreadyExistsError(absl::StrCat(
            "Conflict. The container name \"/", c.name, "\" is already in use by container \"", id,
            "\". You have to remove (or rename) that container to be able to reuse that name."));
      }
    }
    GANTRY_RETURN_IF_ERROR(store_.Put(c));
    entries_.emplace(c.id, std::move(entry));
    for (const MountPoint& mp : c.mounts) {
      if (mp.type == "volume") volumes_.AddReference(mp.name, c.id);
    }
    return absl::OkStatus();
  }();
  if (status.ok()) Publish(c, "create");
  if (!status.ok()) {
    rollback();
    return status;
  }
  return c.id;
}

absl::Status ContainerManager::PrepareMounts(Container& c, std::vector<std::string>& created) {
  for (MountPoint& mp : c.mounts) {
    if (mp.type == "bind") {
      struct stat st {};
      if (::stat(mp.source.c_str(), &st) == 0) continue;
      if (!mp.create_host_path) {
        return absl::InvalidArgumentError(absl::StrCat(
            "HostConfig.Mounts: invalid mount config for type \"bind\": bind source path does not "
            "exist: ",
            mp.source));
      }
      GANTRY_RETURN_IF_ERROR(MakeDirs(mp.source, 0755));
    } else if (mp.type == "volume") {
      absl::StatusOr<Volume> volume = volumes_.Get(mp.name);
      if (absl::IsNotFound(volume.status())) {
        std::map<std::string, std::string> labels = mp.volume_labels;
        if (mp.anonymous) labels[kAnonymousVolumeLabel] = "";
        volume = volumes_.Create(mp.name, mp.driver, std::move(labels), mp.driver_options);
        if (volume.ok()) created.push_back(mp.name);
      }
      if (!volume.ok()) return volume.status();
      mp.source = volume->mountpoint;
    }
  }
  return absl::OkStatus();
}

absl::Status ContainerManager::MountVolumes(const Container& c) {
  std::unique_ptr<ContainerFs> image_fs;  // the snapshot, mounted once if a copy-up needs it
  for (const MountPoint& mp : c.mounts) {
    if (mp.type != "volume") continue;
    absl::StatusOr<std::string> path = volumes_.Mount(mp.name, c.id);
    if (!path.ok()) {
      UnmountVolumes(c);
      return path.status();
    }
    events_.Publish("volume", "mount", mp.name,
                    {{"container", c.id},
                     {"destination", mp.destination},
                     {"driver", mp.driver},
                     {"propagation", mp.propagation},
                     {"read/write", mp.rw ? "true" : "false"}});
    if (!mp.copy_data) continue;
    absl::Status copied = [&]() -> absl::Status {
      std::lock_guard copy_up(copy_up_mu_);
      UniqueFd volume_dir(::open(path->c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
      if (!volume_dir) return LastErrno(absl::StrCat("open volume ", mp.name));
      if (!IsEmptyDirectory(volume_dir.get())) return absl::OkStatus();
      if (!image_fs) {
        GANTRY_ASSIGN_OR_RETURN(image_fs, MountSnapshot(c.id));
      }
      absl::StatusOr<UniqueFd> image_dir = image_fs->OpenDirectory(mp.destination);
      if (!image_dir.ok()) return absl::OkStatus();  // nothing there to copy
      return Annotate(CopyDirectoryContents(image_dir->get(), volume_dir.get()),
                      absl::StrCat("copy ", mp.destination, " into volume ", mp.name));
    }();
    if (!copied.ok()) {
      UnmountVolumes(c);
      return copied;
    }
  }
  return absl::OkStatus();
}

void ContainerManager::UnmountVolumes(const Container& c) {
  for (const MountPoint& mp : c.mounts) {
    if (mp.type == "volume") volumes_.Unmount(mp.name, c.id);
  }
}

absl::StatusOr<ContainerIo*> ContainerManager::EnsureIo(Entry& entry) {
  if (!entry.io) {
    GANTRY_ASSIGN_OR_RETURN(entry.io,
                            ContainerIo::Open(FifoDir(entry.container.id), entry.container.tty(),
                                              entry.container.config.value("OpenStdin", false)));
  }
  return entry.io.get();
}

absl::StatusOr<bool> ContainerManager::Start(const std::string& ref) {
  GANTRY_ASSIGN_OR_RETURN(std::shared_ptr<Entry> entry, Find(ref));
  std::lock_guard lifecycle(entry->lifecycle);
  {
    std::lock_guard lock(entry->mu);
    if (entry->removed) return absl::NotFoundError(absl::StrCat("No such container: ", ref));
    if (IsRunningStatus(entry->container.state.status)) return false;
  }
  if (absl::Status status = StartLocked(entry); !status.ok()) {
    // As dockerd: a --rm container that cannot start goes (docker run
    // waits for its removal).
    bool auto_remove = false;
    {
      std::lock_guard lock(entry->mu);
      auto_remove = entry->container.host_config.value("AutoRemove", false);
    }
    if (auto_remove) (void)RemoveLocked(entry, /*remove_volumes=*/true);
    return status;
  }
  return true;
}

absl::Status ContainerManager::StartLocked(const std::shared_ptr<Entry>& entry) {
  GANTRY_RETURN_IF_ERROR(AttachNetworks(entry));
  absl::Status status = StartTask(entry);
  if (!status.ok()) DetachNetworks(entry);
  return status;
}

void ContainerManager::RefreshNetworkSettings(Container& c) {
  std::vector<std::string> exposed;
  if (const nlohmann::json ports = c.config.value("ExposedPorts", nlohmann::json());
      ports.is_object()) {
    for (const auto& [port, unused] : ports.items()) exposed.push_back(port);
  }
  c.network_settings = networks_.Settings(c.id, c.networks, exposed);
}

absl::Status ContainerManager::AttachNetworks(const std::shared_ptr<Entry>& entry) {
  Container c;
  {
    std::lock_guard lock(entry->mu);
    c = entry->container;
  }
  const std::string mode = c.host_config.value("NetworkMode", "default");
  std::string sandbox_key;
  std::vector<std::string> addresses;
  bool embedded_dns = false;
  if (absl::StartsWith(mode, "container:")) {
    GANTRY_ASSIGN_OR_RETURN(Container other, Get(mode.substr(10)));
    if (!other.state.Running() || other.state.pid <= 0) {
      return absl::FailedPreconditionError(
          absl::StrCat("cannot join network namespace of a non running container: ", other.id));
    }
    sandbox_key = absl::StrCat("/proc/", other.state.pid, "/ns/net");
  } else if (mode != "host") {
    network::SandboxRequest request;
    request.container_id = c.id;
    request.container_name = c.name;
    GANTRY_ASSIGN_OR_RETURN(network::Network primary,
                            networks_.Get(mode == "default" ? "bridge" : mode));
    // NetworkMode's network first, unless it was disconnected.
    if (c.networks.contains(primary.name)) {
      request.networks.emplace_back(primary.name, c.networks[primary.name]);
    }
    for (const auto& [name, settings] : c.networks.items()) {
      if (name != primary.name) request.networks.emplace_back(name, settings);
    }
    request.port_bindings = c.host_config.value("PortBindings", nlohmann::json());
    request.publish_all = c.host_config.value("PublishAllPorts", false);
    if (const nlohmann::json ports = c.config.value("ExposedPorts", nlohmann::json());
        ports.is_object()) {
      for (const auto& [port, unused] : ports.items()) request.exposed_ports.push_back(port);
    }
    GANTRY_ASSIGN_OR_RETURN(network::Sandbox sandbox, networks_.Attach(request));
    sandbox_key = sandbox.netns_path;
    embedded_dns = sandbox.embedded_dns;
    for (const network::Endpoint& e : sandbox.endpoints) addresses.push_back(e.address.ToString());
  }
  absl::Status status = WriteEtcFiles(c, addresses, embedded_dns);
  {
    std::lock_guard lock(entry->mu);
    entry->container.sandbox_key = status.ok() ? sandbox_key : "";
    RefreshNetworkSettings(entry->container);
    if (status.ok()) status = Save(*entry);
    if (status.ok()) return status;
  }
  DetachNetworks(entry);
  return status;
}

void ContainerManager::DetachNetworks(const std::shared_ptr<Entry>& entry) {
  std::string id;
  {
    std::lock_guard lock(entry->mu);
    id = entry->container.id;
  }
  networks_.Detach(id);
  std::lock_guard lock(entry->mu);
  entry->container.sandbox_key.clear();
  RefreshNetworkSettings(entry->container);
  (void)Save(*entry);
}

absl::Status ContainerManager::ConnectNetwork(const std::string& ref,
                                              const std::string& network_ref,
                                              nlohmann::json endpoint_settings) {
  GANTRY_ASSIGN_OR_RETURN(std::shared_ptr<Entry> entry, Find(ref));
  std::lock_guard lifecycle(entry->lifecycle);
  GANTRY_ASSIGN_OR_RETURN(network::Network network, networks_.Get(network_ref));
  if (!endpoint_settings.is_object()) endpoint_settings = nlohmann::json::object();
  Container c;
  {
    std::lock_guard lock(entry->mu);
    c = entry->container;
  }
  const std::string mode = c.host_config.value("NetworkMode", "default");
  if (mode == "host" || mode == "none" || absl::StartsWith(mode, "container:") ||
      !network.has_endpoints()) {
    return absl::FailedPreconditionError(
        "container sharing network namespace with another container or host cannot be connected "
        "to any other network");
  }
  if (c.networks.contains(network.name)) {
    return absl::AlreadyExistsError(
        absl::StrCat("endpoint with name ", c.name, " already exists in network ", network.name));
  }
  if (c.state.Running()) {
    GANTRY_RETURN_IF_ERROR(networks_.Connect(c.id, c.name, network.id, endpoint_settings).status());
  }
  std::lock_guard lock(entry->mu);
  entry->container.networks[network.name] = endpoint_settings;
  RefreshNetworkSettings(entry->container);
  return Save(*entry);
}

absl::Status ContainerManager::DisconnectNetwork(const std::string& ref,
                                                 const std::string& network_ref, bool force) {
  GANTRY_ASSIGN_OR_RETURN(std::shared_ptr<Entry> entry, Find(ref));
  std::lock_guard lifecycle(entry->lifecycle);
  GANTRY_ASSIGN_OR_RETURN(network::Network network, networks_.Get(network_ref));
  Container c;
  {
    std::lock_guard lock(entry->mu);
    c = entry->container;
  }
  if (!c.networks.contains(network.name)) {
    if (force) return absl::OkStatus();
    return absl::FailedPreconditionError(
        absl::StrCat("container ", c.id, " is not connected to network ", network.name));
  }
  if (c.state.Running()) GANTRY_RETURN_IF_ERROR(networks_.Disconnect(c.id, network.id));
  std::lock_guard lock(entry->mu);
  entry->container.networks.erase(network.name);
  RefreshNetworkSettings(entry->container);
  return Save(*entry);
}

absl::Status ContainerManager::StartTask(const std::shared_ptr<Entry>& entry) {
  // A user given by name is looked up in the container's own files, its
  // snapshot mounted for that moment (not while the task mounts it).
  std::unique_ptr<ContainerFs> user_root;
  {
    std::string user, id;
    {
      std::lock_guard lock(entry->mu);
      user = entry->container.config.value("User", "");
      id = entry->container.id;
    }
    if (UserHasNames(user) && user != "root") {
      GANTRY_ASSIGN_OR_RETURN(user_root, MountSnapshot(id));
    }
  }
  std::unique_lock lock(entry->mu);
  Container& c = entry->container;
  absl::StatusOr<nlohmann::json> built = BuildOciSpec(c, user_root ? user_root->root() : -1);
  user_root.reset();
  GANTRY_ASSIGN_OR_RETURN(nlohmann::json spec, std::move(built));
  GANTRY_ASSIGN_OR_RETURN(ContainerIo * io, EnsureIo(*entry));
  const std::string id = c.id;
  contd::v1::UpdateContainerRequest update;
  update.mutable_container()->set_id(id);
  update.mutable_container()->mutable_spec()->set_type_url(kSpecTypeUrl);
  update.mutable_container()->mutable_spec()->set_value(spec.dump());
  update.mutable_update_mask()->add_paths("spec");
  contd::v1::CreateTaskRequest create;
  create.set_container_id(id);
  create.set_stdin(io->stdin_path());
  create.set_stdout(io->stdout_path());
  create.set_stderr(io->stderr_path());
  create.set_terminal(c.tty());
  if (!c.log_path.empty()) {
    create.mutable_log()->set_path(c.log_path);
    const nlohmann::json log_opts =
        c.host_config["LogConfig"].value("Config", nlohmann::json::object());
    int64_t max_size = 0;
    int max_file = 1;
    if (std::string size = log_opts.value("max-size", ""); !size.empty()) {
      int64_t number = 0;
      const char unit = static_cast<char>(std::tolower(size.back()));
      const int64_t scale = unit == 'k'   ? 1024
                            : unit == 'm' ? 1024 * 1024
                            : unit == 'g' ? 1024 * 1024 * 1024
                                          : 1;
      if (scale != 1) size.pop_back();
      if (!absl::SimpleAtoi(size, &number)) {
        return absl::InvalidArgumentError(
            absl::StrCat("HostConfig.LogConfig.Config: max-size ", size));
      }
      max_size = number * scale;
    }
    if (std::string files = log_opts.value("max-file", "");
        !files.empty() && !absl::SimpleAtoi(files, &max_file)) {
      return absl::InvalidArgumentError(
          absl::StrCat("HostConfig.LogConfig.Config: max-file ", files));
    }
    create.mutable_log()->set_max_size(max_size);
    create.mutable_log()->set_max_file(max_file);
  }
  lock.unlock();

  {
    contd::v1::UpdateContainerResponse response;
    auto context = ContdClient::Context();
    GANTRY_RETURN_IF_ERROR(
        FromGrpc(contd_.containers().Update(context.get(), update, &response), id));
  }
  {
    contd::v1::SnapshotMountsRequest request;
    request.set_snapshotter(kSnapshotter);
    request.set_key(id);
    contd::v1::SnapshotMountsResponse response;
    auto context = ContdClient::Context();
    GANTRY_RETURN_IF_ERROR(
        FromGrpc(contd_.snapshots().Mounts(context.get(), request, &response), id));
    *create.mutable_rootfs() = response.mounts();
  }
  // A task left by an earlier run (engined died before deleting it).
  DeleteTask(id);
  Container snapshot_of_c;
  {
    std::lock_guard relock(entry->mu);
    snapshot_of_c = entry->container;
  }
  auto fail = [&](const absl::Status& status) {
    UnmountVolumes(snapshot_of_c);
    std::lock_guard relock(entry->mu);
    entry->container.state.error = std::string(status.message());
    entry->container.state.exit_code = 128;
    (void)Save(*entry);
    return status;
  };
  if (absl::Status status = MountVolumes(snapshot_of_c); !status.ok()) return fail(status);
  {
    contd::v1::CreateTaskResponse response;
    auto context = ContdClient::Context();
    absl::Status status = FromGrpc(contd_.tasks().Create(context.get(), create, &response), id);
    if (!status.ok()) return fail(status);
  }
  bool close_stdin = false;
  contd::v1::StartTaskRequest start;
  start.set_container_id(id);
  contd::v1::StartTaskResponse started;
  auto context = ContdClient::Context();
  if (absl::Status status = FromGrpc(contd_.tasks().Start(context.get(), start, &started), id);
      !status.ok()) {
    DeleteTask(id);
    return fail(status);
  }
  {
    std::lock_guard relock(entry->mu);
    ContainerState& state = entry->container.state;
    state.status = "running";
    state.pid = static_cast<int>(started.pid());
    state.started_at = absl::Now();
    state.exit_code = 0;
    state.error.clear();
    state.oom_killed = false;
    close_stdin = std::exchange(entry->close_stdin_at_start, false);
    GANTRY_RETURN_IF_ERROR(Save(*entry));
    Publish(entry->container, "start");
  }
  if (close_stdin) (void)CloseTaskStdin(id);
  Spawn([this, entry] { Monitor(entry); });
  return absl::OkStatus();
}

void ContainerManager::Monitor(std::shared_ptr<Entry> entry) {
  contd::v1::WaitTaskRequest request;
  grpc::ClientContext* context;
  {
    std::lock_guard lock(entry->mu);
    request.set_container_id(entry->container.id);
    entry->wait_context = ContdClient::Context(absl::InfiniteDuration());
    context = entry->wait_context.get();
  }
  contd::v1::WaitTaskResponse response;
  grpc::Status status = contd_.tasks().Wait(context, request, &response);
  if (shutting_down_) return;  // engined stops; the container runs on
  if (!status.ok()) {
    // contd went away: the task's shim still runs it; a restarted engined
    // (or contd) reconnects. Record nothing.
    log::Warning("engined: waiting for container ", request.container_id(), ": ",
                 status.error_message());
    return;
  }
  OnExit(entry, static_cast<int>(response.exit_status()), TimeFromProto(response.exited_at()));
}

void ContainerManager::OnExit(const std::shared_ptr<Entry>& entry, int exit_code,
                              absl::Time exited_at) {
  std::unique_ptr<ContainerIo> io;
  std::string id;
  {
    std::lock_guard lock(entry->mu);
    io = std::move(entry->io);
    id = entry->container.id;
  }
  // The last output reaches attached clients before they learn of the exit.
  io.reset();
  DeleteTask(id);
  {
    Container exited;
    {
      std::lock_guard lock(entry->mu);
      exited = entry->container;
    }
    UnmountVolumes(exited);
  }
  DetachNetworks(entry);

  bool restart = false, auto_remove = false;
  absl::Duration delay;
  {
    std::lock_guard lock(entry->mu);
    Container& c = entry->container;
    c.state.status = "exited";
    c.state.exit_code = exit_code;
    c.state.pid = 0;
    c.state.finished_at = exited_at == absl::UnixEpoch() ? absl::Now() : exited_at;
    const nlohmann::json policy = c.host_config.value("RestartPolicy", nlohmann::json::object());
    const std::string name = policy.value("Name", "");
    const int max_retries = policy.value("MaximumRetryCount", 0);
    if (!c.stopped_by_user) {
      restart = name == "always" || name == "unless-stopped" ||
                (name == "on-failure" && exit_code != 0 &&
                 (max_retries == 0 || c.restart_count < max_retries));
    }
    auto_remove = !restart && c.host_config.value("AutoRemove", false);
    if (restart) {
      c.state.status = "restarting";
      ++c.restart_count;
      // Docker's back-off: 100 ms doubling, reset after 10 s of running.
      const bool ran_long = c.state.finished_at - c.state.started_at > absl::Seconds(10);
      const int attempt = ran_long ? 0 : std::min(c.restart_count - 1, 10);
      delay = absl::Milliseconds(100) * (1 << attempt);
    }
    (void)Save(*entry);
    ++entry->exits;
    Publish(c, "die", {{"exitCode", std::to_string(exit_code)}});
  }
  entry->changed.notify_all();
  if (restart) {
    Spawn([this, entry, delay] {
      {
        // The back-off, cut short by a stop, a removal or engined stopping
        // (the restart then happens when engined is back).
        std::unique_lock lock(entry->mu);
        entry->changed.wait_for(lock, absl::ToChronoNanoseconds(delay), [&] {
          return shutting_down_ || entry->removed || entry->container.state.status != "restarting";
        });
      }
      if (shutting_down_) return;
      std::lock_guard lifecycle(entry->lifecycle);
      {
        std::lock_guard lock(entry->mu);
        if (entry->removed || entry->container.state.status != "restarting") return;
      }
      if (absl::Status status = StartLocked(entry); !status.ok()) {
        log::Warning("engined: restarting ", entry->container.id, ": ", status.message());
        std::lock_guard lock(entry->mu);
        entry->container.state.status = "exited";
        (void)Save(*entry);
      }
    });
  } else if (auto_remove) {
    std::lock_guard lifecycle(entry->lifecycle);
    if (absl::Status status = RemoveLocked(entry, /*remove_volumes=*/true); !status.ok()) {
      log::Warning("engined: auto-removing ", id, ": ", status.message());
    }
  }
}

void ContainerManager::DeleteTask(const std::string& id) {
  contd::v1::DeleteTaskRequest request;
  request.set_container_id(id);
  contd::v1::DeleteTaskResponse response;
  auto context = ContdClient::Context();
  // NOT_FOUND (no task) is what this makes sure of.
  (void)contd_.tasks().Delete(context.get(), request, &response);
}

absl::Status ContainerManager::KillTask(const std::string& id, int signal, bool all) {
  contd::v1::KillTaskRequest request;
  request.set_container_id(id);
  request.set_signal(static_cast<uint32_t>(signal));
  request.set_all(all);
  google::protobuf::Empty empty;
  auto context = ContdClient::Context();
  return FromGrpc(contd_.tasks().Kill(context.get(), request, &empty), id);
}

absl::StatusOr<bool> ContainerManager::Stop(const std::string& ref,
                                            std::optional<int> timeout_seconds,
                                            const std::string& signal_name) {
  GANTRY_ASSIGN_OR_RETURN(std::shared_ptr<Entry> entry, Find(ref));
  return StopEntry(entry, timeout_seconds, signal_name, /*publish_stop=*/true);
}

absl::StatusOr<bool> ContainerManager::StopEntry(const std::shared_ptr<Entry>& entry,
                                                 std::optional<int> timeout_seconds,
                                                 const std::string& signal_name,
                                                 bool publish_stop) {
  std::lock_guard lifecycle(entry->lifecycle);
  std::unique_lock lock(entry->mu);
  Container& c = entry->container;
  c.stopped_by_user = true;
  if (c.state.status == "restarting") {
    c.state.status = "exited";
    GANTRY_RETURN_IF_ERROR(Save(*entry));
    return true;
  }
  if (!IsRunningStatus(c.state.status)) {
    GANTRY_RETURN_IF_ERROR(Save(*entry));
    return false;
  }
  GANTRY_RETURN_IF_ERROR(Save(*entry));
  const std::string stop_signal =
      !signal_name.empty() ? signal_name : c.config.value("StopSignal", "SIGTERM");
  GANTRY_ASSIGN_OR_RETURN(int signal, ParseSignal(stop_signal.empty() ? "SIGTERM" : stop_signal));
  const int timeout =
      timeout_seconds.value_or(c.config.value("StopTimeout", nlohmann::json()).is_number_integer()
                                   ? c.config["StopTimeout"].get<int>()
                                   : kDefaultStopTimeoutSeconds);
  const std::string id = c.id;
  const bool paused = c.state.status == "paused";
  const uint64_t exits = entry->exits;
  lock.unlock();
  if (paused) {
    contd::v1::ResumeTaskRequest resume;
    resume.set_container_id(id);
    google::protobuf::Empty empty;
    auto context = ContdClient::Context();
    (void)contd_.tasks().Resume(context.get(), resume, &empty);
  }
  Publish(entry->container, "kill", {{"signal", std::to_string(signal)}});
  (void)KillTask(id, signal, false);
  lock.lock();
  // SIGKILL needs no escalation: only the wait.
  const bool exited = entry->changed.wait_for(
      lock, std::chrono::seconds(timeout < 0 || signal == SIGKILL ? 24 * 3600 : timeout),
      [&] { return entry->exits != exits; });
  if (!exited) {
    lock.unlock();
    Publish(entry->container, "kill", {{"signal", std::to_string(SIGKILL)}});
    (void)KillTask(id, SIGKILL, true);
    lock.lock();
    entry->changed.wait(lock, [&] { return entry->exits != exits; });
  }
  if (publish_stop) Publish(entry->container, "stop");
  return true;
}

absl::Status ContainerManager::Restart(const std::string& ref, std::optional<int> timeout_seconds) {
  GANTRY_RETURN_IF_ERROR(Stop(ref, timeout_seconds, "").status());
  GANTRY_ASSIGN_OR_RETURN(std::shared_ptr<Entry> entry, Find(ref));
  {
    std::lock_guard lock(entry->mu);
    entry->container.stopped_by_user = false;
  }
  return Start(ref).status();
}

absl::Status ContainerManager::Kill(const std::string& ref, const std::string& signal_name) {
  GANTRY_ASSIGN_OR_RETURN(std::shared_ptr<Entry> entry, Find(ref));
  GANTRY_ASSIGN_OR_RETURN(int signal, ParseSignal(signal_name.empty() ? "SIGKILL" : signal_name));
  std::string id;
  {
    std::lock_guard lock(entry->mu);
    Container& c = entry->container;
    if (!IsRunningStatus(c.state.status)) {
      return absl::FailedPreconditionError(
          absl::StrCat("Cannot kill container: ", ref, ": Container ", c.id, " is not running"));
    }
    // As dockerd's ExitOnNext: killed with the stop signal or SIGKILL, it
    // is not restarted.
    GANTRY_ASSIGN_OR_RETURN(int stop_signal, ParseSignal(c.config.value("StopSignal", "").empty()
                                                             ? "SIGTERM"
                                                             : c.config.value("StopSignal", "")));
    if (signal == SIGKILL || signal == stop_signal) {
      c.stopped_by_user = true;
      GANTRY_RETURN_IF_ERROR(Save(*entry));
    }
    id = c.id;
    Publish(c, "kill", {{"signal", std::to_string(signal)}});
  }
  return KillTask(id, signal, signal == SIGKILL);
}

absl::Status ContainerManager::Pause(const std::string& ref) { return SetPaused(ref, true); }

absl::Status ContainerManager::Unpause(const std::string& ref) { return SetPaused(ref, false); }

absl::Status ContainerManager::SetPaused(const std::string& ref, bool paused) {
  GANTRY_ASSIGN_OR_RETURN(std::shared_ptr<Entry> entry, Find(ref));
  std::lock_guard lifecycle(entry->lifecycle);
  std::lock_guard lock(entry->mu);
  Container& c = entry->container;
  if (paused && c.state.status == "paused") {
    return absl::FailedPreconditionError(absl::StrCat("Container ", c.id, " is already paused"));
  }
  if (paused && c.state.status != "running") {
    return absl::FailedPreconditionError(absl::StrCat("Container ", c.id, " is not running"));
  }
  if (!paused && c.state.status != "paused") {
    return absl::FailedPreconditionError(absl::StrCat("Container ", c.id, " is not paused"));
  }
  google::protobuf::Empty empty;
  auto context = ContdClient::Context();
  if (paused) {
    contd::v1::PauseTaskRequest request;
    request.set_container_id(c.id);
    GANTRY_RETURN_IF_ERROR(FromGrpc(contd_.tasks().Pause(context.get(), request, &empty), c.id));
  } else {
    contd::v1::ResumeTaskRequest request;
    request.set_container_id(c.id);
    GANTRY_RETURN_IF_ERROR(FromGrpc(contd_.tasks().Resume(context.get(), request, &empty), c.id));
  }
  c.state.status = paused ? "paused" : "running";
  Publish(c, paused ? "pause" : "unpause");
  return Save(*entry);
}

absl::Status ContainerManager::Remove(const std::string& ref, bool force, bool remove_volumes) {
  GANTRY_ASSIGN_OR_RETURN(std::shared_ptr<Entry> entry, Find(ref));
  {
    std::lock_guard lock(entry->mu);
    if (IsRunningStatus(entry->container.state.status) ||
        entry->container.state.status == "restarting") {
      if (!force) {
        return absl::FailedPreconditionError(absl::StrCat(
            "You cannot remove a ", entry->container.state.status, " container ",
            entry->container.id, ". Stop the container before attempting removal or force remove"));
      }
    }
  }
  if (force)
    GANTRY_RETURN_IF_ERROR(StopEntry(entry, 0, "SIGKILL", /*publish_stop=*/false).status());
  std::lock_guard lifecycle(entry->lifecycle);
  return RemoveLocked(entry, remove_volumes);
}

absl::Status ContainerManager::RemoveLocked(const std::shared_ptr<Entry>& entry,
                                            bool remove_volumes) {
  std::string id;
  std::vector<MountPoint> mounts;
  {
    std::lock_guard lock(entry->mu);
    if (entry->removed) return absl::OkStatus();
    id = entry->container.id;
    mounts = entry->container.mounts;
    entry->container.state.status = "removing";
  }
  DeleteTask(id);
  networks_.Detach(id);
  {
    contd::v1::DeleteContainerRequest request;
    request.set_id(id);
    google::protobuf::Empty empty;
    auto context = ContdClient::Context();
    grpc::Status status = contd_.containers().Delete(context.get(), request, &empty);
    if (!status.ok() && status.error_code() != grpc::StatusCode::NOT_FOUND) {
      return FromGrpc(status, absl::StrCat("remove container ", id));
    }
  }
  {
    contd::v1::RemoveSnapshotRequest request;
    request.set_snapshotter(kSnapshotter);
    request.set_key(id);
    google::protobuf::Empty empty;
    auto context = ContdClient::Context();
    grpc::Status status = contd_.snapshots().Remove(context.get(), request, &empty);
    if (!status.ok() && status.error_code() != grpc::StatusCode::NOT_FOUND) {
      return FromGrpc(status, absl::StrCat("remove the root filesystem of ", id));
    }
  }
  GANTRY_RETURN_IF_ERROR(RemoveTree(ContainerDir(id)));
  GANTRY_RETURN_IF_ERROR(RemoveTree(FifoDir(id)));
  GANTRY_RETURN_IF_ERROR(store_.Delete(id));
  {
    std::lock_guard lock(entry->mu);
    entry->removed = true;
    Publish(entry->container, "destroy");
  }
  for (const MountPoint& mp : mounts) {
    if (mp.type != "volume") continue;
    volumes_.RemoveReference(mp.name, id);
    if (!remove_volumes || !mp.anonymous) continue;
    // Another container may still use it (--volumes-from): it stays then.
    if (absl::Status removed = volumes_.Remove(mp.name); !removed.ok()) {
      log::Warning("engined: removing volume ", mp.name, " of ", id, ": ", removed.message());
    }
  }
  bool last = false;
  {
    std::lock_guard lock(mu_);
    entries_.erase(id);
    last = entries_.empty();
  }
  if (last) {
    RemoveEmptyCgroupParents();
    ReleaseFreeMemory();  // the containers' burst of requests is over
  }
  entry->changed.notify_all();
  return absl::OkStatus();
}

absl::Status ContainerManager::Rename(const std::string& ref, const std::string& new_name) {
  const std::string name(absl::StripPrefix(new_name, "/"));
  GANTRY_RETURN_IF_ERROR(ValidateName(name));
  GANTRY_ASSIGN_OR_RETURN(std::shared_ptr<Entry> entry, Find(ref));
  if (absl::StatusOr<std::shared_ptr<Entry>> other = Find(name); other.ok() && *other != entry) {
    return absl::AlreadyExistsError(
        absl::StrCat("Error when allocating new name: Conflict. The container name \"/", name,
                     "\" is already in use"));
  }
  std::lock_guard lock(entry->mu);
  const std::string old_name = entry->container.name;
  entry->container.name = name;
  if (absl::Status status = Save(*entry); !status.ok()) {
    entry->container.name = old_name;
    return status;
  }
  Publish(entry->container, "rename", {{"oldName", "/" + old_name}});
  return absl::OkStatus();
}

absl::Status ContainerManager::Resize(const std::string& ref, uint32_t height, uint32_t width) {
  GANTRY_ASSIGN_OR_RETURN(Container c, Get(ref));
  if (!c.state.Running()) {
    return absl::FailedPreconditionError(absl::StrCat("Container ", c.id, " is not running"));
  }
  contd::v1::ResizePtyRequest request;
  request.set_container_id(c.id);
  request.set_width(width);
  request.set_height(height);
  google::protobuf::Empty empty;
  auto context = ContdClient::Context();
  return FromGrpc(contd_.tasks().ResizePty(context.get(), request, &empty), c.id);
}

absl::StatusOr<std::vector<uint32_t>> ContainerManager::Pids(const std::string& ref) {
  GANTRY_ASSIGN_OR_RETURN(Container c, Get(ref));
  if (!c.state.Running()) {
    return absl::FailedPreconditionError(absl::StrCat("Container ", c.id, " is not running"));
  }
  contd::v1::ListPidsRequest request;
  request.set_container_id(c.id);
  contd::v1::ListPidsResponse response;
  auto context = ContdClient::Context();
  GANTRY_RETURN_IF_ERROR(
      FromGrpc(contd_.tasks().ListPids(context.get(), request, &response), c.id));
  std::vector<uint32_t> pids;
  for (const auto& process : response.processes()) pids.push_back(process.pid());
  return pids;
}

absl::StatusOr<std::unique_ptr<ContainerFs>> ContainerManager::OpenFs(const std::string& ref) {
  GANTRY_ASSIGN_OR_RETURN(Container c, Get(ref));
  if (c.state.Running() && c.state.pid > 0) {
    UniqueFd root(::open(absl::StrCat("/proc/", c.state.pid, "/root").c_str(),
                         O_PATH | O_DIRECTORY | O_CLOEXEC));
    if (!root) return LastErrno(absl::StrCat("open the root of container ", c.id));
    return std::make_unique<ContainerFs>(std::move(root), "");
  }
  return MountSnapshot(c.id);
}

absl::StatusOr<std::unique_ptr<ContainerFs>> ContainerManager::MountSnapshot(
    const std::string& id) {
  contd::v1::SnapshotMountsRequest request;
  request.set_snapshotter(kSnapshotter);
  request.set_key(id);
  contd::v1::SnapshotMountsResponse response;
  auto context = ContdClient::Context();
  GANTRY_RETURN_IF_ERROR(
      FromGrpc(contd_.snapshots().Mounts(context.get(), request, &response), id));
  std::vector<Mount> mounts;
  for (const auto& m : response.mounts()) {
    mounts.push_back(Mount{m.type(), m.source(), {m.options().begin(), m.options().end()}});
  }
  const std::string mountpoint = absl::StrCat(FifoDir(id), "/rootfs-", NewRandomId().substr(0, 8));
  GANTRY_RETURN_IF_ERROR(MakeDirs(mountpoint, 0700));
  if (absl::Status status = MountAll(mounts, mountpoint); !status.ok()) {
    ::rmdir(mountpoint.c_str());
    return status;
  }
  UniqueFd root(::open(mountpoint.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  const bool opened = static_cast<bool>(root);
  // Owns the mount from here: it is unmounted when `fs` goes, failed or not.
  auto fs = std::make_unique<ContainerFs>(std::move(root), mountpoint);
  if (!opened) return LastErrno(absl::StrCat("open ", mountpoint));
  return fs;
}

absl::StatusOr<int> ContainerManager::Wait(const std::string& ref, WaitCondition condition) {
  GANTRY_ASSIGN_OR_RETURN(std::shared_ptr<Entry> entry, Find(ref));
  std::unique_lock lock(entry->mu);
  const uint64_t exits = entry->exits;
  entry->changed.wait(lock, [&] {
    if (shutting_down_ || entry->removed) return true;
    switch (condition) {
      case WaitCondition::kNotRunning:
        return !IsRunningStatus(entry->container.state.status);
      case WaitCondition::kNextExit:
        return entry->exits != exits;
      case WaitCondition::kRemoved:
        return false;
    }
    return true;
  });
  if (shutting_down_ && !entry->removed && entry->exits == exits) {
    return absl::UnavailableError("engined is shutting down");
  }
  return entry->container.state.exit_code;
}

absl::StatusOr<ContainerManager::Attachment> ContainerManager::Attach(
    const std::string& ref, ContainerIo::Sink sink, std::function<void()> on_end) {
  GANTRY_ASSIGN_OR_RETURN(std::shared_ptr<Entry> entry, Find(ref));
  std::lock_guard lock(entry->mu);
  const std::string& status = entry->container.state.status;
  if (status != "created" && !IsRunningStatus(status) && status != "exited" &&
      status != "restarting") {
    return absl::FailedPreconditionError(
        absl::StrCat("You cannot attach to a ", status, " container"));
  }
  GANTRY_ASSIGN_OR_RETURN(ContainerIo * io, EnsureIo(*entry));
  Publish(entry->container, "attach");
  return Attachment{entry->container.id, io->Attach(std::move(sink), std::move(on_end))};
}

void ContainerManager::Detach(const Attachment& attachment) {
  absl::StatusOr<std::shared_ptr<Entry>> entry = Find(attachment.id);
  if (!entry.ok()) return;
  std::lock_guard lock((*entry)->mu);
  if ((*entry)->io) (*entry)->io->Detach(attachment.handle);
}

absl::Status ContainerManager::WriteStdin(const std::string& id, absl::string_view data) {
  GANTRY_ASSIGN_OR_RETURN(std::shared_ptr<Entry> entry, Find(id));
  ContainerIo* io;
  {
    std::lock_guard lock(entry->mu);
    GANTRY_ASSIGN_OR_RETURN(io, EnsureIo(*entry));
  }
  // Without the lock: a full FIFO blocks here until the container reads.
  return io->WriteStdin(data);
}

absl::Status ContainerManager::StdinEnded(const std::string& id) {
  GANTRY_ASSIGN_OR_RETURN(std::shared_ptr<Entry> entry, Find(id));
  std::string container_id;
  {
    std::lock_guard lock(entry->mu);
    const Container& c = entry->container;
    if (!c.config.value("StdinOnce", false)) return absl::OkStatus();
    if (!c.state.Running()) {
      entry->close_stdin_at_start = true;
      return absl::OkStatus();
    }
    container_id = c.id;
  }
  return CloseTaskStdin(container_id);
}

absl::Status ContainerManager::CloseTaskStdin(const std::string& id) {
  contd::v1::CloseIORequest request;
  request.set_container_id(id);
  request.set_stdin(true);
  google::protobuf::Empty empty;
  auto context = ContdClient::Context();
  return FromGrpc(contd_.tasks().CloseIO(context.get(), request, &empty), id);
}

absl::Status ContainerManager::Restore() {
  GANTRY_ASSIGN_OR_RETURN(std::vector<Container> stored, store_.All());
  std::vector<std::shared_ptr<Entry>> to_start;
  std::set<std::string> running;
  // Exits that happened while engined was away, handled once the stale
  // sandboxes are gone (an exit may restart its container at once).
  struct MissedExit {
    std::shared_ptr<Entry> entry;
    int exit_code;
    absl::Time exited_at;
  };
  std::vector<MissedExit> missed;
  for (Container& c : stored) {
    auto entry = std::make_shared<Entry>();
    entry->container = std::move(c);
    {
      std::lock_guard lock(mu_);
      entries_.emplace(entry->container.id, entry);
    }
    Container& restored = entry->container;
    for (const MountPoint& mp : restored.mounts) {
      if (mp.type == "volume") volumes_.AddReference(mp.name, restored.id);
    }
    const std::string policy =
        restored.host_config.value("RestartPolicy", nlohmann::json::object()).value("Name", "");
    if (IsRunningStatus(restored.state.status)) {
      contd::v1::GetTaskRequest request;
      request.set_container_id(restored.id);
      contd::v1::GetTaskResponse response;
      auto context = ContdClient::Context();
      grpc::Status status = contd_.tasks().Get(context.get(), request, &response);
      if (status.ok() && (response.process().status() == contd::v1::TASK_STATUS_RUNNING ||
                          response.process().status() == contd::v1::TASK_STATUS_PAUSED)) {
        // Still running: take the FIFOs back, count its volume mounts, put
        // its published ports and DNS back, and watch for its exit.
        running.insert(restored.id);
        if (absl::Status resumed = networks_.Resume(restored.id); !resumed.ok()) {
          log::Warning("engined: networks of ", restored.id, ": ", resumed.message());
        }
        for (const MountPoint& mp : restored.mounts) {
          if (mp.type != "volume") continue;
          if (absl::StatusOr<std::string> path = volumes_.Mount(mp.name, restored.id); !path.ok()) {
            log::Warning("engined: ", restored.id, ": ", path.status().message());
          }
        }
        {
          std::lock_guard lock(entry->mu);
          if (absl::StatusOr<ContainerIo*> io = EnsureIo(*entry); !io.ok()) {
            log::Warning("engined: ", restored.id, ": ", io.status().message());
          }
        }
        Spawn([this, entry] { Monitor(entry); });
        continue;
      }
      const int exit_code = status.ok() ? static_cast<int>(response.process().exit_status()) : 137;
      const absl::Time exited_at =
          status.ok() ? TimeFromProto(response.process().exited_at()) : absl::Now();
      missed.push_back({entry, exit_code, exited_at});
      continue;
    }
    if (restored.state.status == "restarting" ||
        ((policy == "always" || (policy == "unless-stopped" && !restored.stopped_by_user)) &&
         restored.state.status == "exited" && !restored.stopped_by_user)) {
      to_start.push_back(entry);
    }
  }
  // Sandboxes of containers that died meanwhile (or whose exit engined
  // missed) go before any container starts again.
  networks_.RemoveStale(running);
  for (const MissedExit& exit : missed) {
    // Its device-backed volumes were mounted for it before the restart.
    Container dead;
    {
      std::lock_guard lock(exit.entry->mu);
      dead = exit.entry->container;
    }
    for (const MountPoint& mp : dead.mounts) {
      if (mp.type == "volume") (void)volumes_.Mount(mp.name, dead.id);
    }
    OnExit(exit.entry, exit.exit_code, exit.exited_at);
  }
  for (const std::shared_ptr<Entry>& entry : to_start) {
    std::lock_guard lifecycle(entry->lifecycle);
    if (absl::Status status = StartLocked(entry); !status.ok()) {
      log::Warning("engined: restarting ", entry->container.id, ": ", status.message());
    }
  }
  return absl::OkStatus();
}

}  // namespace gantry::engined
