#include "engined/api/networks_router.h"

#include "absl/strings/match.h"
#include "absl/time/clock.h"
#include "common/errors.h"
#include "common/json_util.h"
#include "engined/api/prune_filter.h"

namespace gantry::engined {
namespace {}  // namespace

void NetworksRouter::AddRoutes(Router& router) {
  router.Add("GET", "/networks", [this](const HttpRequest& r) { return List(r); });
  router.Add("POST", "/networks/create", [this](const HttpRequest& r) { return Create(r); });
  router.Add("POST", "/networks/prune", [this](const HttpRequest& r) { return Prune(r); });
  router.Add("GET", "/networks/{id}", [this](const HttpRequest& r) -> absl::StatusOr<HttpResponse> {
    GANTRY_ASSIGN_OR_RETURN(network::Network network, networks_.Get(r.Param("id")));
    return HttpResponse::Json(200, networks_.Inspect(network));
  });
  router.Add("DELETE", "/networks/{id}",
             [this](const HttpRequest& r) -> absl::StatusOr<HttpResponse> {
               GANTRY_RETURN_IF_ERROR(networks_.Remove(r.Param("id")));
               return HttpResponse::Text(204, "");
             });
  router.Add("POST", "/networks/{id}/connect",
             [this](const HttpRequest& r) -> absl::StatusOr<HttpResponse> {
               GANTRY_ASSIGN_OR_RETURN(nlohmann::json body, DecodeJsonBody(r));
               GANTRY_RETURN_IF_ERROR(containers_.ConnectNetwork(
                   body.value("Container", ""), r.Param("id"),
                   body.value("EndpointConfig", nlohmann::json::object())));
               return HttpResponse::Text(200, "");
             });
  router.Add("POST", "/networks/{id}/disconnect",
             [this](const HttpRequest& r) -> absl::StatusOr<HttpResponse> {
               GANTRY_ASSIGN_OR_RETURN(nlohmann::json body, DecodeJsonBody(r));
               GANTRY_RETURN_IF_ERROR(containers_.DisconnectNetwork(
                   body.value("Container", ""), r.Param("id"), body.value("Force", false)));
               return HttpResponse::Text(200, "");
             });
}

absl::StatusOr<HttpResponse> NetworksRouter::List(const HttpRequest& request) {
  GANTRY_ASSIGN_OR_RETURN(const Filters filters, request.query.GetFilters());
  for (const auto& [name, values] : filters) {
    if (name != "name" && name != "id" && name != "driver" && name != "label" && name != "type" &&
        name != "dangling" && name != "scope") {
      return absl::InvalidArgumentError(absl::StrCat("invalid filter '", name, "'"));
    }
  }
  const auto any = [&](const std::string& filter, auto&& match) {
    auto it = filters.find(filter);
    return it == filters.end() || std::any_of(it->second.begin(), it->second.end(), match);
  };
  nlohmann::json list = nlohmann::json::array();
  for (const network::Network& n : networks_.List()) {
    if (!any("name", [&](const std::string& v) { return absl::StrContains(n.name, v); })) continue;
    if (!any("id", [&](const std::string& v) { return absl::StartsWith(n.id, v); })) continue;
    if (!any("driver", [&](const std::string& v) { return n.driver == v; })) continue;
    if (!any("scope", [&](const std::string& v) { return v == "local"; })) continue;
    if (!any("type",
             [&](const std::string& v) { return v == (n.predefined() ? "builtin" : "custom"); })) {
      continue;
    }
    if (auto it = filters.find("label");
        it != filters.end() &&
        !std::all_of(it->second.begin(), it->second.end(),
                     [&](const std::string& l) { return HasLabel(nlohmann::json(n.labels), l); })) {
      continue;
    }
    nlohmann::json json = networks_.Inspect(n);
    if (!any("dangling", [&](const std::string& v) {
          const bool dangling = !n.predefined() && json["Containers"].empty();
          return (v == "true" || v == "1") == dangling;
        })) {
      continue;
    }
    list.push_back(std::move(json));
  }
  return HttpResponse::Json(200, list);
}

absl::StatusOr<HttpResponse> NetworksRouter::Create(const HttpRequest& request) {
  GANTRY_ASSIGN_OR_RETURN(nlohmann::json body, DecodeJsonBody(request));
  network::NetworkCreate create;
  create.name = body.value("Name", "");
  create.driver = body.value("Driver", "bridge");
  create.internal = body.value("Internal", false);
  create.attachable = body.value("Attachable", false);
  create.labels = StringMembers(body.value("Labels", nlohmann::json()));
  create.options = StringMembers(body.value("Options", nlohmann::json()));
  if (body.value("EnableIPv6", false)) {
    return absl::InvalidArgumentError("EnableIPv6: IPv6 networks are not supported");
  }
  const nlohmann::json ipam = body.value("IPAM", nlohmann::json::object());
  const nlohmann::json configs =
      ipam.is_object() ? ipam.value("Config", nlohmann::json::array()) : nlohmann::json::array();
  if (configs.is_array() && configs.size() > 1) {
    return absl::InvalidArgumentError("IPAM.Config: one IPv4 subnet per network is supported");
  }
  if (configs.is_array() && !configs.empty() && configs[0].is_object()) {
    const nlohmann::json& c = configs[0];
    if (const std::string v = c.value("Subnet", ""); !v.empty()) create.subnet = v;
    if (const std::string v = c.value("Gateway", ""); !v.empty()) create.gateway = v;
    if (const std::string v = c.value("IPRange", ""); !v.empty()) create.ip_range = v;
  }
  GANTRY_ASSIGN_OR_RETURN(network::Network network, networks_.Create(create));
  return HttpResponse::Json(201, {{"Id", network.id}, {"Warning", ""}});
}

absl::StatusOr<HttpResponse> NetworksRouter::Prune(const HttpRequest& request) {
  GANTRY_ASSIGN_OR_RETURN(const Filters filters, request.query.GetFilters());
  GANTRY_ASSIGN_OR_RETURN(const PruneFilter filter, PruneFilter::From(filters, absl::Now()));
  nlohmann::json deleted = nlohmann::json::array();
  for (const network::Network& n : networks_.List()) {
    if (n.predefined() || !networks_.EndpointsOn(n.id).empty()) continue;
    if (!filter.Matches(nlohmann::json(n.labels), n.created)) continue;
    // One that gained a container meanwhile stays.
    if (networks_.Remove(n.id).ok()) deleted.push_back(n.name);
  }
  return HttpResponse::Json(200,
                            {{"NetworksDeleted", deleted.empty() ? nlohmann::json() : deleted}});
}

}  // namespace gantry::engined
