#!/bin/sh
# SPDX-License-Identifier: MIT
# What people run today, for `make bench` to compare with: collectd's exec
# plugin runs this once per notification (NotificationExec), and it POSTs
# the same job as the plugin would with curl.
#   notify_curl.sh URL TASK_ID SECRET CUSTOMER
# stdin: "Name: value" header lines, an empty line, then the message.
url=$1 task=$2 secret=$3 customer=$4
severity= time= host= plugin= plugin_instance= type= type_instance=
while IFS= read -r line; do
  [ -n "$line" ] || break
  value=${line#*: }
  case "$line" in
  Severity:*) severity=$value ;;
  Time:*) time=$value ;;
  Host:*) host=$value ;;
  Plugin:*) plugin=$value ;;
  PluginInstance:*) plugin_instance=$value ;;
  Type:*) type=$value ;;
  TypeInstance:*) type_instance=$value ;;
  esac
done
message=$(cat)
# The bench's fields hold no quote or backslash: no JSON escaping needed.
body=$(printf '{"task":"%s","task_arguments":["%s","%s","%s","%s","%s","%s","%s","%s"]}' \
  "$task" "$severity" "$time" "$host" "$plugin" "$plugin_instance" "$type" \
  "$type_instance" "$message")
exec curl -sS -o /dev/null --max-time 10 -X POST \
  -H 'Content-Type: application/json' -H 'Accept: application/json' \
  -H 'Expect:' --data-binary "$body" \
  "$url/job/secret/$secret?customer=$customer"
