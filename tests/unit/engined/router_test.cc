// The router as a docker client meets it: versioned and unversioned paths,
// path parameters, Docker's error bodies and status codes.
#include <catch2/catch.hpp>

#include "engined/api/http_error.h"
#include "engined/api/router.h"

using gantry::engined::HttpRequest;
using gantry::engined::HttpResponse;
using gantry::engined::RawRequest;
using gantry::engined::Router;

namespace {

RawRequest Get(std::string target) { return RawRequest{"GET", std::move(target), {}, ""}; }

Router EchoRouter() {
  Router router(std::vector<std::pair<std::string, std::string>>{{"API-Version", "1.43"}});
  router.Add("GET", "/containers/{id}/json",
             [](const HttpRequest& request) -> absl::StatusOr<HttpResponse> {
               return HttpResponse::Json(200, {{"id", request.Param("id")},
                                               {"version", request.version.ToString()},
                                               {"size", request.query.GetBool("size")}});
             });
  router.Add("DELETE", "/containers/{id}",
             [](const HttpRequest& request) -> absl::StatusOr<HttpResponse> {
               return absl::NotFoundError("No such container: " + request.Param("id"));
             });
  return router;
}

nlohmann::json Body(const HttpResponse& response) { return nlohmann::json::parse(response.body); }

}  // namespace

TEST_CASE("a versioned path reaches the route with its version and parameters", "[router]") {
  HttpResponse response = EchoRouter().Handle(Get("/v1.41/containers/abc123/json?size=1"));
  CHECK(response.status == 200);
  CHECK(Body(response) == nlohmann::json{{"id", "abc123"}, {"version", "1.41"}, {"size", true}});
}

TEST_CASE("an unversioned path is served at the newest version", "[router]") {
  HttpResponse response = EchoRouter().Handle(Get("/containers/x/json"));
  CHECK(response.status == 200);
  CHECK(Body(response)["version"] == "1.43");
  CHECK(Body(response)["size"] == false);
}

TEST_CASE("every response carries the common headers", "[router]") {
  HttpResponse response = EchoRouter().Handle(Get("/nope"));
  bool found = false;
  for (const auto& [name, value] : response.headers)
    found |= name == "API-Version" && value == "1.43";
  CHECK(found);
}

TEST_CASE("unknown paths and methods answer 404 page not found", "[router]") {
  Router router = EchoRouter();
  for (RawRequest request : {Get("/containers/x"), Get("/v1.41/nothing/here"),
                             RawRequest{"POST", "/containers/x/json", {}, ""}}) {
    HttpResponse response = router.Handle(request);
    CHECK(response.status == 404);
    CHECK(Body(response) == nlohmann::json{{"message", "page not found"}});
  }
}

TEST_CASE("a version newer than supported is refused with Docker's message", "[router]") {
  HttpResponse response = EchoRouter().Handle(Get("/v9.99/containers/x/json"));
  CHECK(response.status == 400);
  CHECK(Body(response)["message"] ==
        "client version 9.99 is too new. Maximum supported API version is 1.43");
}

TEST_CASE("a version older than 1.24 is refused", "[router]") {
  HttpResponse response = EchoRouter().Handle(Get("/v1.12/containers/x/json"));
  CHECK(response.status == 400);
  CHECK(Body(response)["message"] ==
        "client version 1.12 is too old. Minimum supported API version is 1.24, please upgrade "
        "your client to a newer version");
}

TEST_CASE("a handler's error becomes its HTTP status and message", "[router]") {
  HttpResponse response =
      EchoRouter().Handle(RawRequest{"DELETE", "/v1.43/containers/gone", {}, ""});
  CHECK(response.status == 404);
  CHECK(Body(response) == nlohmann::json{{"message", "No such container: gone"}});
}

TEST_CASE("path segments are URL-decoded, '+' kept", "[router]") {
  HttpResponse response = EchoRouter().Handle(Get("/containers/a%2Db+c/json"));
  CHECK(Body(response)["id"] == "a-b+c");
}

TEST_CASE("error classification follows moby's errdefs", "[errors]") {
  using gantry::engined::ErrorResponse;
  CHECK(ErrorResponse(absl::NotFoundError("x")).status == 404);
  CHECK(ErrorResponse(absl::AlreadyExistsError("x")).status == 409);
  CHECK(ErrorResponse(absl::FailedPreconditionError("x")).status == 409);
  CHECK(ErrorResponse(absl::InvalidArgumentError("x")).status == 400);
  CHECK(ErrorResponse(absl::UnauthenticatedError("x")).status == 401);
  CHECK(ErrorResponse(absl::PermissionDeniedError("x")).status == 403);
  CHECK(ErrorResponse(absl::UnimplementedError("x")).status == 501);
  CHECK(ErrorResponse(absl::UnavailableError("x")).status == 503);
  CHECK(ErrorResponse(absl::InternalError("x")).status == 500);
  CHECK(ErrorResponse(absl::UnknownError("x")).status == 500);
  HttpResponse response = ErrorResponse(absl::InvalidArgumentError("bad \"name\""));
  CHECK(response.body == "{\"message\":\"bad \\\"name\\\"\"}\n");
}
