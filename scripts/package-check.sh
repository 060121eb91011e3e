#!/usr/bin/env bash
# Installs the .deb of `npm run package` on this machine and checks what the package promises:
# the service user, its repository and a configuration it can read but not change, man pages,
# completions, a unit that `systemd-analyze verify` accepts, doctor run as the service user; an
# upgrade (the same package with a higher version) that keeps configuration and data, remove that
# keeps them, purge that deletes them and the user. Needs root; works without systemd running
# (CI, containers).
# Refuses to run where fileupload is installed or its user or folders exist, and purges the
# package again on failure, so the machine is left as it was found.
#
#   scripts/package-check.sh [dist/fileupload_<version>_<arch>.deb]
set -euo pipefail
cd "$(dirname "$0")/.."

deb=${1:-$(ls -t dist/fileupload_*.deb 2>/dev/null | head -n 1 || true)}
config=/etc/fileupload/openfire.xml
repo=/var/lib/fileupload
node=$PWD/scripts/node24

say() { echo "package-check: $*"; }
die() {
  say "FAIL: $*" >&2
  exit 1
}
# "mode owner:group" of a path, e.g. "750 fileupload:fileupload".
perms() { stat -c '%a %U:%G' "$1"; }
expect_perms() {
  local got
  got=$(perms "$1") || die "$1 is missing"
  [ "$got" = "$2" ] || die "$1 is $got, expected $2"
}
# The status of one check in doctor --json output on stdin.
check_status() {
  "$node" -e 'let s = ""; process.stdin.on("data", (d) => (s += d)).on("end", () => {
    const c = JSON.parse(s).checks.find((x) => x.check === process.argv[1]);
    console.log(c ? c.status : "absent");
  });' "$1"
}

[ "$(id -u)" = 0 ] || die "needs root (it installs the package)"
[ -f "$deb" ] || die "no package ${deb:-in dist/} (npm run package makes it)"
if dpkg-query -W -f '${Status}' fileupload 2>/dev/null | grep -q 'installed'; then
  die "fileupload is installed on this machine: not touching it"
fi
for path in $repo /etc/fileupload; do [ ! -e $path ] || die "$path exists: not touching it"; done
! getent passwd fileupload >/dev/null || die "a user fileupload exists: not touching it"

work=$(mktemp -d)
cleanup() {
  local code=$?
  if [ $code -ne 0 ] && dpkg-query -W fileupload >/dev/null 2>&1; then
    say "purging after the failure"
    dpkg -P fileupload >/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

say "dpkg -i $deb"
dpkg -i "$deb"

getent passwd fileupload >/dev/null || die "postinst created no user fileupload"
[ "$(getent passwd fileupload | cut -d: -f7)" = /usr/sbin/nologin ] || die "the service user has a login shell"
expect_perms $repo "750 fileupload:fileupload"
expect_perms /etc/fileupload "750 root:fileupload"
expect_perms $config "640 root:fileupload"
[ "$(fileupload config get --show-secrets slotSecret | wc -c)" -gt 40 ] || die "the configuration has no generated slotSecret"
[ "$(fileupload config get fileRepo)" = $repo ] || die "the configuration's fileRepo is not $repo"
[ "$(command -v fileupload)" = /usr/bin/fileupload ] || die "fileupload is not /usr/bin/fileupload"
for page in /usr/share/man/man1/fileupload{,-doctor,-config}.1.gz; do [ -f "$page" ] || die "$page is missing"; done
grep -q _fileupload /usr/share/bash-completion/completions/fileupload || die "no bash completion"
[ -f /usr/share/zsh/vendor-completions/_fileupload ] || die "no zsh completion"
if [ -d /run/systemd/system ]; then
  ! systemctl is-enabled --quiet fileupload || die "postinst enabled the service before it is configured"
fi
[ ! -e /etc/systemd/system/multi-user.target.wants/fileupload.service ] || die "the service is enabled"

say "as the service user, before the admin's two settings: config check names them"
set +e
out=$(runuser -u fileupload -- fileupload config check 2>&1)
code=$?
set -e
[ $code -eq 2 ] || die "config check exited $code, expected 2 (domain and sharedSecret missing): $out"
grep -q 'domain' <<<"$out" || die "config check does not name domain: $out"

say "the admin's next step (README): domain and sharedSecret"
fileupload config set domain upload.example.test >/dev/null 2>&1
printf 'package-check secret\n' | fileupload config set sharedSecret - >/dev/null 2>&1
expect_perms $config "640 root:fileupload"
runuser -u fileupload -- fileupload config check >/dev/null || die "config check fails as the service user"

say "doctor --json as the service user (no XMPP server here: only the local checks must pass)"
set +e
report=$(runuser -u fileupload -- fileupload doctor --json)
code=$?
set -e
[ $code -le 1 ] || die "doctor exited $code (2 = configuration unusable, 3+ = it broke)"
for check in config repository same-filesystem free-space slot-secret config-permissions; do
  status=$(check_status $check <<<"$report")
  [ "$status" = pass ] || die "doctor's $check check: $status, expected pass"
done

say "systemd-analyze verify (Documentation=man: resolves through the installed pages)"
verify=$(systemd-analyze verify /lib/systemd/system/fileupload.service 2>&1) || die "verify failed: $verify"
[ -z "$verify" ] || die "verify warns: $verify"

say "upgrade to the same package with a higher version: configuration and data stay"
runuser -u fileupload -- sh -c "echo upload >$repo/package-check-file"
before=$(sha256sum $config)
dpkg-deb -R "$deb" "$work/newer"
sed -i 's/^Version: .*/&+check1/' "$work/newer/DEBIAN/control"
dpkg-deb --root-owner-group -Zgzip -z1 -b "$work/newer" "$work/newer.deb" >/dev/null
dpkg -i "$work/newer.deb" >/dev/null
dpkg-query -W -f '${Version}' fileupload | grep -q '+check1$' || die "the upgrade did not install"
[ "$(sha256sum $config)" = "$before" ] || die "the upgrade changed $config"
expect_perms $config "640 root:fileupload"
expect_perms $repo "750 fileupload:fileupload"
[ -f $repo/package-check-file ] || die "the upgrade lost the repository's file"

say "dpkg -r: configuration, data and user stay"
dpkg -r fileupload >/dev/null
[ ! -e /usr/bin/fileupload ] || die "/usr/bin/fileupload is still there"
[ ! -e /lib/systemd/system/fileupload.service ] || die "the unit is still there"
[ "$(sha256sum $config)" = "$before" ] || die "remove changed $config"
[ -f $repo/package-check-file ] || die "remove lost the repository's file"
getent passwd fileupload >/dev/null || die "remove deleted the user"

say "dpkg -P: configuration, data and user are gone"
dpkg -P fileupload >/dev/null
for path in $repo /etc/fileupload; do [ ! -e $path ] || die "purge left $path"; done
! getent passwd fileupload >/dev/null || die "purge left the user fileupload"
! getent group fileupload >/dev/null || die "purge left the group fileupload"
! dpkg-query -W fileupload >/dev/null 2>&1 || die "dpkg still knows fileupload"

say "ok"
