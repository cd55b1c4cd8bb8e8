#include "ocirun/lib/default_spec.h"

#include <unistd.h>

namespace ocirun {
namespace {

// `runc spec` (runc 1.1) verbatim, so `ocirun spec` is a drop-in.
constexpr const char* kDefaultSpec = R"json({
	"ociVersion": "1.0.2-dev",
	"process": {
		"terminal": true,
		"user": {
			"uid": 0,
			"gid": 0
		},
		"args": [
			"sh"
		],
		"env": [
			"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
			"TERM=xterm"
		],
		"cwd": "/",
		"capabilities": {
			"bounding": [
				"CAP_AUDIT_WRITE",
				"CAP_KILL",
				"CAP_NET_BIND_SERVICE"
			],
			"effective": [
				"CAP_AUDIT_WRITE",
				"CAP_KILL",
				"CAP_NET_BIND_SERVICE"
			],
			"permitted": [
				"CAP_AUDIT_WRITE",
				"CAP_KILL",
				"CAP_NET_BIND_SERVICE"
			],
			"ambient": [
				"CAP_AUDIT_WRITE",
				"CAP_KILL",
				"CAP_NET_BIND_SERVICE"
			]
		},
		"rlimits": [
			{
				"type": "RLIMIT_NOFILE",
				"hard": 1024,
				"soft": 1024
			}
		],
		"noNewPrivileges": true
	},
	"root": {
		"path": "rootfs",
		"readonly": true
	},
	"hostname": "runc",
	"mounts": [
		{
			"destination": "/proc",
			"type": "proc",
			"source": "proc"
		},
		{
			"destination": "/dev",
			"type": "tmpfs",
			"source": "tmpfs",
			"options": [
				"nosuid",
				"strictatime",
				"mode=755",
				"size=65536k"
			]
		},
		{
			"destination": "/dev/pts",
			"type": "devpts",
			"source": "devpts",
			"options": [
				"nosuid",
				"noexec",
				"newinstance",
				"ptmxmode=0666",
				"mode=0620",
				"gid=5"
			]
		},
		{
			"destination": "/dev/shm",
			"type": "tmpfs",
			"source": "shm",
			"options": [
				"nosuid",
				"noexec",
				"nodev",
				"mode=1777",
				"size=65536k"
			]
		},
		{
			"destination": "/dev/mqueue",
			"type": "mqueue",
			"source": "mqueue",
			"options": [
				"nosuid",
				"noexec",
				"nodev"
			]
		},
		{
			"destination": "/sys",
			"type": "sysfs",
			"source": "sysfs",
			"options": [
				"nosuid",
				"noexec",
				"nodev",
				"ro"
			]
		},
		{
			"destination": "/sys/fs/cgroup",
			"type": "cgroup",
			"source": "cgroup",
			"options": [
				"nosuid",
				"noexec",
				"nodev",
				"relatime",
				"ro"
			]
		}
	],
	"linux": {
		"resources": {
			"devices": [
				{
					"allow": false,
					"access": "rwm"
				}
			]
		},
		"namespaces": [
			{
				"type": "pid"
			},
			{
				"type": "network"
			},
			{
				"type": "ipc"
			},
			{
				"type": "uts"
			},
			{
				"type": "mount"
			}
		],
		"maskedPaths": [
			"/proc/acpi",
			"/proc/asound",
			"/proc/kcore",
			"/proc/keys",
			"/proc/latency_stats",
			"/proc/timer_list",
			"/proc/timer_stats",
			"/proc/sched_debug",
			"/sys/firmware",
			"/proc/scsi"
		],
		"readonlyPaths": [
			"/proc/bus",
			"/proc/fs",
			"/proc/irq",
			"/proc/sys",
			"/proc/sysrq-trigger"
		]
	}
})json";

}  // namespace

nlohmann::ordered_json DefaultSpec(bool rootless) {
  auto spec = nlohmann::ordered_json::parse(kDefaultSpec);
  if (!rootless) return spec;
  // runc's ToRootless: a user namespace mapping only our own ids, no network
  // namespace (no privilege to set it up), no devpts gid and no sysfs mount.
  auto& lx = spec["linux"];
  lx.erase("resources");
  nlohmann::ordered_json namespaces = nlohmann::ordered_json::array();
  for (auto& ns : lx["namespaces"])
    if (ns["type"] != "network") namespaces.push_back(ns);
  namespaces.push_back({{"type", "user"}});
  lx["namespaces"] = namespaces;
  // The mappings go first, where runc's Go struct puts them in its output.
  nlohmann::ordered_json mapped = {
      {"uidMappings", {{{"containerID", 0}, {"hostID", ::geteuid()}, {"size", 1}}}},
      {"gidMappings", {{{"containerID", 0}, {"hostID", ::getegid()}, {"size", 1}}}}};
  for (auto& [key, value] : lx.items()) mapped[key] = value;
  lx = std::move(mapped);
  for (auto& m : spec["mounts"]) {
    if (m["type"] == "devpts") {
      nlohmann::ordered_json opts = nlohmann::ordered_json::array();
      for (auto& o : m["options"])
        if (o != "gid=5") opts.push_back(o);
      m["options"] = opts;
    } else if (m["type"] == "sysfs") {
      m = {{"destination", "/sys"},
           {"type", "none"},
           {"source", "/sys"},
           {"options", {"rbind", "nosuid", "noexec", "nodev", "ro"}}};
    }
  }
  return spec;
}

}  // namespace ocirun
