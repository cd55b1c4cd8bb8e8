#!/usr/bin/python3
"""Debian's docker SDK for Python (python3-docker) against engined.

Usage: docker_sdk_scenario.py SOCKET IMAGE
Every step asserts what a user of the SDK would see; the first failure
raises and the script exits non-zero with the traceback.
"""
import sys

import docker


def main():
    socket, image = sys.argv[1], sys.argv[2]
    client = docker.DockerClient(base_url="unix://" + socket, timeout=60)

    assert client.ping() is True
    version = client.version()
    assert version["Os"] == "linux", version
    assert "Gantry" in [c["Name"] for c in version["Components"]] or version["Version"], version

    pulled = client.images.pull(image, tag="latest")
    assert pulled.id.startswith("sha256:"), pulled.id
    assert image + ":latest" in pulled.tags, pulled.tags
    assert any(image + ":latest" in i.tags for i in client.images.list())

    out = client.containers.run(image, ["sh", "-c", "echo hello sdk"], remove=True)
    assert out == b"hello sdk\n", out

    box = client.containers.run(image, ["sh", "-c", "echo started; exec sleep 300"],
                                detach=True, name="sdkbox", environment={"K": "v"})
    box.reload()
    assert box.status == "running", box.status
    assert box.name == "sdkbox"
    assert [c.id for c in client.containers.list()] == [box.id]

    code, output = box.exec_run(["sh", "-c", "echo $K; exit 3"])
    assert code == 3 and output == b"v\n", (code, output)

    for _ in range(50):
        if box.logs() == b"started\n":
            break
    assert box.logs() == b"started\n", box.logs()

    box.stop(timeout=1)
    result = box.wait()
    assert result["StatusCode"] == 137, result
    box.reload()
    assert box.status == "exited", box.status
    assert len(client.containers.list(all=True, filters={"status": "exited"})) == 1
    box.remove()
    assert client.containers.list(all=True) == []

    volume = client.volumes.create("sdkdata", labels={"from": "sdk"})
    assert volume.name == "sdkdata" and volume.attrs["Labels"] == {"from": "sdk"}, volume.attrs
    client.containers.run(image, ["sh", "-c", "echo in volume > /v/f"], remove=True,
                          volumes={"sdkdata": {"bind": "/v", "mode": "rw"}})
    out = client.containers.run(image, ["cat", "/w/f"], remove=True,
                                volumes=["sdkdata:/w:ro"])
    assert out == b"in volume\n", out
    assert [v.name for v in client.volumes.list()] == ["sdkdata"]
    client.volumes.get("sdkdata").remove()
    assert client.volumes.list() == []
    try:
        client.volumes.get("sdkdata")
        raise AssertionError("a removed volume was found")
    except docker.errors.NotFound:
        pass

    net = client.networks.create("sdknet", driver="bridge", labels={"from": "sdk"})
    assert net.name == "sdknet" and net.attrs["Driver"] == "bridge", net.attrs
    assert "sdknet" in [n.name for n in client.networks.list()]
    server = client.containers.run(image, ["sh", "-c",
                                           "echo ok > /i && exec httpd -f -p 80 -h /"],
                                   detach=True, name="sdkweb", network="sdknet")
    net.reload()
    assert [c.id for c in net.containers] == [server.id], net.attrs["Containers"]
    # httpd may still be starting: a few tries.
    out = client.containers.run(image, ["sh", "-c", "for i in 1 2 3 4 5 6 7 8 9 10; do "
                                        "wget -q -O- http://sdkweb/i && break; sleep 0.2; done"],
                                remove=True, network="sdknet")
    assert out == b"ok\n", out
    net.disconnect(server, force=True)
    net.reload()
    assert net.containers == [], net.attrs["Containers"]
    server.remove(force=True)
    net.remove()
    try:
        client.networks.get("sdknet")
        raise AssertionError("a removed network was found")
    except docker.errors.NotFound:
        pass

    try:
        client.containers.get("sdkbox")
        raise AssertionError("a removed container was found")
    except docker.errors.NotFound:
        pass
    try:
        client.images.get(image + "-missing")
        raise AssertionError("a missing image was found")
    except docker.errors.ImageNotFound:
        pass

    print("docker SDK scenario passed")


if __name__ == "__main__":
    main()
