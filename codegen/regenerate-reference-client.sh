#!/bin/sh
# Regenerates the committed generated code in Tests/RiverReferenceClient from its schemas
# (the reference services and the codegen corpus). With --check, writes nothing and exits
# non-zero when any committed file is out of date.
set -eu
cd "$(dirname "$0")/.."
swift build --product river-codegen >/dev/null
codegen=.build/debug/river-codegen
check=${1:-}
run() { # schema output namespace [flags]
    schema=$1; output=$2; namespace=$3; shift 3
    $codegen "$schema" --output "$output" --namespace "$namespace" ${check:+--check} "$@"
}
run Tests/Fixtures/schemas/reference-services.json Tests/RiverReferenceClient ReferenceServices
run Tests/Fixtures/schemas/reference-services-handshake.json Tests/RiverReferenceClient HandshakeServices
run Tests/RiverCodegenTests/Corpus/corpus.json Tests/RiverReferenceClient CodegenCorpus
for schema in Tests/RiverCodegenTests/Corpus/constructs/*.json; do
    name=$(basename "$schema" .json)
    namespace=Corpus$(echo "$name" | awk -F- '{ for (i = 1; i <= NF; i++) printf "%s%s", toupper(substr($i, 1, 1)), substr($i, 2) }')
    run "$schema" Tests/RiverReferenceClient/Corpus "$namespace" --single-file
done
