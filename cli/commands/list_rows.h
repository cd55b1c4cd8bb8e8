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

}  // namespace gantry::cli
