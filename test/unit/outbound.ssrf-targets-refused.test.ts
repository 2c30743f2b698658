import { describe, expect, test } from "bun:test";
import { blockedReason, RefusedTarget, resolveTarget } from "../../src/outbound/ssrf";

describe("blockedReason", () => {
  test.each([
    ["127.0.0.1", "loopback"], ["10.0.0.1", "private"], ["172.16.5.4", "private"], ["192.168.1.1", "private"],
    ["169.254.169.254", "linkLocal"], ["100.64.0.1", "carrierGradeNat"], ["0.0.0.0", "unspecified"],
    ["224.0.0.1", "multicast"],
    ["255.255.255.255", "broadcast"], ["::1", "loopback"], ["::", "unspecified"], ["fd00::1", "uniqueLocal"],
    ["fe80::1", "linkLocal"], ["ff02::1", "multicast"], ["::ffff:127.0.0.1", "loopback"],
    ["::ffff:a9fe:a9fe", "linkLocal"],
    ["64:ff9b::a00:1", "private"], ["2002:7f00:1::", "loopback"],
    // Documentation, relay, benchmarking and reserved ranges the hand-kept table missed.
    ["192.0.2.1", "reserved"], ["198.51.100.7", "reserved"], ["203.0.113.9", "reserved"], ["192.88.99.1", "reserved"],
    ["198.18.0.1", "reserved"], ["240.0.0.1", "reserved"], ["2001:db8::1", "reserved"], ["2001::1", "teredo"],
    ["64:ff9b:1::a00:1", "rfc6052"], ["fec0::1", "deprecatedSiteLocal"], ["::ffff:0:8.8.8.8", "rfc6145"],
    ["100::1", "discard"], ["::808:808", "ipv4Compatible"],
  ])("%s is refused (%s)", (ip, why) => {
    expect(blockedReason(ip)).toBe(why);
  });

  test.each(["93.184.216.34", "8.8.8.8", "172.32.0.1", "2606:4700:4700::1111", "::ffff:8.8.8.8", "64:ff9b::808:808",
    "2002:808:808::1"])("%s is public", (ip) => {
    expect(blockedReason(ip)).toBeUndefined();
  });
});

describe("resolveTarget", () => {
  const refused = async (url: string, allowPrivate = false, lookup?: any) => {
    const error = await resolveTarget(url, { allowPrivate, lookup }).then(() => undefined, (e) => e);
    expect(error).toBeInstanceOf(RefusedTarget);
    return (error as Error).message;
  };
  const publicDns = async () => [{ address: "93.184.216.34", family: 4 }];

  test("private, loopback and link-local targets are refused without the flag, names after resolution", async () => {
    for (const url of [
      "https://127.0.0.1/h", "https://10.0.0.1/h", "https://169.254.169.254/latest/meta-data", "https://[::1]/h",
      "https://localhost/h",
    ]) {
      expect(await refused(url)).toContain("refused");
    }
    // A name whose DNS answer includes a private address is refused even if another answer is public.
    expect(await refused("https://rebind.example/h", false, async () => [
      { address: "93.184.216.34", family: 4 }, { address: "10.1.2.3", family: 4 },
    ]))
      .toContain("10.1.2.3");
  });

  test("https is required; http only to loopback with OUTBOUND_ALLOW_PRIVATE", async () => {
    expect(await refused("http://hooks.example/h", false, publicDns)).toContain("https");
    expect(await refused("http://hooks.example/h", true, publicDns)).toContain("https");
    expect(await refused("ftp://hooks.example/h")).toContain("https");
    expect(await refused("not a url")).toContain("valid URL");
    expect(await refused("https://user:pw@hooks.example/h", false, publicDns)).toContain("credentials");
    const local = await resolveTarget("http://127.0.0.1:8080/h", { allowPrivate: true });
    expect(local).toMatchObject({ address: "127.0.0.1", port: 8080, hostname: "127.0.0.1" });
  });

  test("the connection address is the checked one, with the name kept for Host and TLS", async () => {
    const target = await resolveTarget("https://hooks.example/in?x=1", { allowPrivate: false, lookup: publicDns });
    expect(target).toMatchObject({ address: "93.184.216.34", family: 4, hostname: "hooks.example", port: 443 });
  });
});
