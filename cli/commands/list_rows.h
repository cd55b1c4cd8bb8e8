// The rows docker's list formatters show (ps, images): each a JSON object
// of strings, so that --format templates, {{json .}} and table headers all
// work on the same fields.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace gantry::cli {

inline constexpr char kPsTable[] =
    "table {{.ID}}\t{{.Image}}\t{{.Command}}\t{{.RunningFor}}\t{{.Status}}\t{{.Ports}}\t{{.Names}}";
inline constexpr char kImagesTable[] =
    "table {{.Repository}}\t{{.Tag}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}";
inline constexpr char kVolumesTable[] = "table {{.Driver}}\t{{.Name}}";
inline constexpr char kNetworksTable[] = "table {{.ID}}\t{{.Name}}\t{{.Driver}}\t{{.Scope}}";

// Docker's Ellipsis: at most `width` characters, the last one "…".
std::string Ellipsis(const std::string& text, size_t width);

// One container of /containers/json as `docker ps` shows it: ID, Image,
// Command (quoted, 20 characters unless `no_trunc`), CreatedAt, RunningFor,
// Ports, State, Status, Size, Names, Labels, Mounts, Networks, LocalVolumes.
nlohmann::json ContainerRow(const nlohmann::json& container, bool no_trunc);
// Field -> column header ("ID" -> "CONTAINER ID").
const nlohmann::json& ContainerHeaders();

// The rows of /images/json as `docker images` shows them: one per
// repository:tag (an untagged image once, as <none> <none>); Digest is
// <none> unless `digest_rows` (images --digests).
std::vector<nlohmann::json> ImageRows(const nlohmann::json& images, bool no_trunc,
                                      bool digest_rows);
const nlohmann::json& ImageHeaders();

// One volume of /volumes as `docker volume ls` shows it: Name, Driver,
// Scope, Mountpoint, Labels, Links and Size (N/A without usage data),
// Group, Availability, Status.
nlohmann::json VolumeRow(const nlohmann::json& volume);
const nlohmann::json& VolumeHeaders();

// One network of /networks as `docker network ls` shows it: ID (12
// characters unless `no_trunc`), Name, Driver, Scope, IPv4, IPv6, Internal,
// Labels, CreatedAt.
nlohmann::json NetworkRow(const nlohmann::json& network, bool no_trunc);
const nlohmann::json& NetworkHeaders();

}  // namespace gantry::cli
