#include "contd/registry/auth_challenge.h"
#include "contd/registry/credentials.h"
#include "contd/registry/registry_hosts.h"
#include "contd/registry/url.h"

#include <catch2/catch.hpp>

using namespace gantry::registry;

TEST_CASE("Bearer challenges give realm, service and scope", "[registry][auth]") {
  auto c = ParseAuthChallenge(
      R"(Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/busybox:pull,push")");
  REQUIRE(c.ok());
  CHECK(c->scheme == "bearer");
  CHECK(c->params["realm"] == "https://auth.docker.io/token");
  CHECK(c->params["service"] == "registry.docker.io");
  CHECK(c->params["scope"] == "repository:library/busybox:pull,push");

  auto basic = ParseAuthChallenge(R"(Basic realm="Registry Realm")");
  REQUIRE(basic.ok());
  CHECK(basic->scheme == "basic");
  CHECK(basic->params["realm"] == "Registry Realm");
  CHECK_FALSE(ParseAuthChallenge(R"(Bearer realm="unterminated)").ok());
}

TEST_CASE("config.json auths give credentials per registry", "[registry][auth]") {
  // "dXNlcjpwYXNzOndvcmQ=" is base64("user:pass:word").
  auto store = CredentialStore::Parse(
      R"({"auths":{"127.0.0.1:5000":{"auth":"dXNlcjpwYXNzOndvcmQ="},
                   "https://index.docker.io/v1/":{"username":"hub","password":"pw"}}})",
      "config.json");
  REQUIRE(store.ok());
  auto local = store->Find("127.0.0.1:5000");
  REQUIRE(local.has_value());
  CHECK(local->username == "user");
  CHECK(local->password == "pass:word");
  REQUIRE(store->Find("docker.io").has_value());
  CHECK(store->Find("docker.io")->username == "hub");
  CHECK_FALSE(store->Find("other:5000").has_value());

  auto bad = CredentialStore::Parse(R"({"auths":{"h":{"auth":"!!"}}})", "/etc/cfg.json");
  CHECK(bad.status().message() ==
        "/etc/cfg.json: auths.h.auth: expected base64 of \"username:password\"");
  CHECK(CredentialStore::Load("/nonexistent/config.json").ok());
}

TEST_CASE("127.0.0.0/8 is insecure by default and tried over https then http",
          "[registry][hosts]") {
  auto hosts = RegistryHosts::Create({});
  REQUIRE(hosts.ok());
  CHECK(hosts->IsInsecure("127.0.0.1:5000"));
  CHECK(hosts->IsInsecure("localhost:5000"));
  CHECK_FALSE(hosts->IsInsecure("registry.example.com"));
  auto endpoints = hosts->Endpoints("127.0.0.1:5000");
  REQUIRE(endpoints.size() == 2);
  CHECK(endpoints[0].base.str() == "https://127.0.0.1:5000/");
  CHECK(endpoints[1].base.str() == "http://127.0.0.1:5000/");
  CHECK(hosts->Endpoints("docker.io")[0].base.str() == "https://registry-1.docker.io:443/");

  auto strict = RegistryHosts::Create({.certs_dir = "/nonexistent", .insecure_registries = {}});
  REQUIRE(strict.ok());
  CHECK(strict->Endpoints("127.0.0.1:5000").size() == 1);
  CHECK_FALSE(RegistryHosts::Create({.insecure_registries = {"10.0.0.0/99"}}).ok());
}

TEST_CASE("Location headers resolve against the request URL", "[registry][url]") {
  auto base = Url::Parse("http://127.0.0.1:5000/v2/a/blobs/uploads/");
  REQUIRE(base.ok());
  CHECK(base->Resolve("/v2/a/blobs/uploads/123?_state=x")->str() ==
        "http://127.0.0.1:5000/v2/a/blobs/uploads/123?_state=x");
  CHECK(base->Resolve("https://s3.example/b?sig=1")->str() == "https://s3.example:443/b?sig=1");
  Url u = *Url::Parse("https://h/x?a=1");
  u.AddQuery("digest", "sha256:ab");
  CHECK(u.target == "/x?a=1&digest=sha256%3Aab");
}
