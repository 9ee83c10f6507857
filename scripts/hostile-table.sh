#!/usr/bin/env bash
# Re-measures issue 16's must-show table: each hostile input against the built proteus-sim, with
# its exit code, the first line of its message, wall time and peak RSS (/usr/bin/time -v), and the
# files it left in the scratch folder. Prints a Markdown table (docs/validation.md holds the last one).
#   scripts/hostile-table.sh [build/simulator/cli/proteus-sim]
set -uo pipefail
cd "$(dirname "$0")/.."
SIM=$(realpath "${1:-build/simulator/cli/proteus-sim}")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
mkfifo pipe.json; mkdir folder
head -c $((17 * 1024 * 1024)) /dev/zero | tr '\0' ' ' > huge.json
python3 - <<'PY'
open("deep.json", "w").write("[" * 100000 + "]" * 100000)
pci = '<pci class="0x060400">'
open("deep.xml", "w").write('<system version="1"><cpu numaid="0" arch="x86_64" vendor="GenuineIntel">' + pci * 100000 +
    '<pci busid="0000:11:00.0" class="0x030200"><gpu dev="0" sm="90"/></pci>' + "</pci>" * 100000 + "</cpu></system>")
open("deep-cluster.json", "w").write('{"format": "proteus.cluster/1", "name": "deep", "node_groups": [{"name": "n", '
    '"count": 1, "gpu": "H100-SXM5-80GB", "topology": "deep.xml"}], "fabric": {"kind": "rail-optimized", "nic_gbps": 400}}')
m = '{"m":' * 60000 + "1" + "}" * 60000
open("deep-suite.json", "w").write('{"format": "proteus.suite/1", "name": "deep", "cases": [{"name": "a", "model": ' + m +
    ', "cluster": "dgx-a100-1", "strategy": {"dp": 8}, "measured": {"mfu": 0.4}}]}')
open("suite.json", "w").write('{"format": "proteus.suite/1", "name": "t", "cases": [{"name": "a", "model": "gpt2-small", '
    '"cluster": "dgx-a100-1", "strategy": {"dp": 8, "gbs": 64}, "measured": {"mfu": 0.4}}]}')
PY
small="--model gpt2-small --cluster dgx-a100-1"
out="--report $work/report.json --trace $work/trace.json"
cases=(
  "--strategy /dev/zero|simulate $out $small --strategy /dev/zero"
  "--strategy FIFO|simulate $out $small --strategy pipe.json"
  "--strategy directory|simulate $out $small --strategy folder"
  "--strategy 17 MiB|simulate $out $small --strategy huge.json"
  "JSON nested 100k|simulate $out $small --strategy deep.json"
  "topology XML nested 100k|simulate $out --model gpt2-small --cluster deep-cluster.json"
  "suite model nested 60k|validate deep-suite.json"
  "--mbs 2147483647|simulate $out $small --mbs 2147483647 --dp 8"
  "--grad-bucket-mb 2^63-1|simulate $out $small --grad-bucket-mb 9223372036854775807"
  "interleaved:2147483647|simulate $out $small --pp 2 --schedule interleaved:2147483647"
  "--bandwidth-scale 1e300|simulate $out $small --bandwidth-scale 1e300"
  "--no-symmetry 16,384 GPUs|simulate $out --model gpt3-175b --cluster dgx-h100-2048 --tp 8 --pp 8 --no-symmetry"
  "--no-symmetry 65,544 GPUs|simulate $out --model gpt2-small --cluster dgx-h100-8193 --no-symmetry"
  "largest simulated batch (65,536 micro-batches)|simulate $out $small --gbs 524288"
  "largest batch (gbs 2^31-8)|simulate $out $small --gbs 2147483640"
  "--report /dev/stdout|simulate $small --report /dev/stdout"
  "--trace /dev/null|simulate $small --trace /dev/null"
  "--trace into a missing folder|simulate --report $work/report.json $small --trace $work/nowhere/t.json"
  "validate --max-tasks 1000|validate suite.json --max-tasks 1000"
  "search --max-tasks 100|search $small --gbs 32 --tp 1 --pp 1 --mbs 1 --recompute none --zero 1 --max-tasks 100"
)
before=$(ls -A | sort)
echo "| case | exit | message | wall s | peak MB | left on disk |"
echo "|---|---|---|---|---|---|"
for c in "${cases[@]}"; do
  name=${c%%|*}; args=${c#*|}
  timeout 60 /usr/bin/time -v -o time.txt "$SIM" -q $args > stdout.txt 2> stderr.txt < /dev/null
  code=$?
  msg=$(grep -m1 '^error:' stderr.txt | cut -c1-150 | sed 's/|/\\|/g'); [ -z "$msg" ] && msg="(ok: $(wc -c < stdout.txt) bytes on stdout)"
  wall=$(awk -F': ' '/Elapsed/ {split($2,t,":"); print t[1]*60+t[2]}' time.txt)
  rss=$(awk -F': ' '/Maximum resident/ {printf "%.0f", $2/1024}' time.txt)
  rm -f time.txt stdout.txt stderr.txt
  left=$(comm -13 <(echo "$before") <(ls -A | sort) | tr '\n' ' ')
  for f in $left; do rm -rf "$f"; done
  echo "| $name | $code | ${msg//$work\//} | $wall | $rss | ${left:-none} |"
done
[ -c /dev/null ] && echo "(/dev/null is still a character device)"
