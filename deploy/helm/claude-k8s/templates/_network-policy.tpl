{{/*
Checks of the agents' NetworkPolicy values that the schema cannot express: no CIDR may allow every address, or hold a
cloud metadata address (or, at install time, the API server's own address). See
docs/decisions/network-policy-egress-allow-list.md.
*/}}

{{/* Addresses agents must never reach: cloud metadata (IPv4 on every major cloud, AWS's IPv6 one, Alibaba's, and
the IPv4 one through the NAT64 well-known prefix). */}}
{{- define "claude-k8s.networkPolicy.forbiddenAddresses" -}}
169.254.169.254 fd00:ec2::254 100.100.100.200 64:ff9b::a9fe:a9fe
{{- end -}}

{{/* 2 to the power of the argument, as a decimal string. */}}
{{- define "claude-k8s.pow2" -}}
{{- $p := 1 -}}
{{- range until (int .) }}{{ $p = mul $p 2 }}{{ end -}}
{{- $p -}}
{{- end -}}

{{/* An IPv4 address as a decimal integer string. */}}
{{- define "claude-k8s.ipv4Int" -}}
{{- $o := splitList "." . -}}
{{- add (mul (atoi (index $o 0)) 16777216) (mul (atoi (index $o 1)) 65536) (mul (atoi (index $o 2)) 256) (atoi (index $o 3)) -}}
{{- end -}}

{{/* An IPv6 address as its 32 hex digits, lower case ("::" expanded); anything else prints something shorter. */}}
{{- define "claude-k8s.ipv6Nibbles" -}}
{{- $addr := lower . -}}
{{- $groups := list -}}
{{- if contains "::" $addr -}}
{{- $parts := splitList "::" $addr -}}
{{- $head := list -}}
{{- if index $parts 0 }}{{ $head = splitList ":" (index $parts 0) }}{{ end -}}
{{- $tail := list -}}
{{- if and (eq (len $parts) 2) (index $parts 1) }}{{ $tail = splitList ":" (index $parts 1) }}{{ end -}}
{{- $groups = $head -}}
{{- range until (int (sub 8 (add (len $head) (len $tail)))) }}{{ $groups = append $groups "0" }}{{ end -}}
{{- $groups = concat $groups $tail -}}
{{- else -}}
{{- $groups = splitList ":" $addr -}}
{{- end -}}
{{- range $groups }}{{ trunc -4 (printf "0000%s" .) }}{{ end -}}
{{- end -}}

{{/* "true" when the CIDR .cidr (address/length, already split by the caller) holds the address .ip of the same
family; empty otherwise. */}}
{{- define "claude-k8s.cidrHolds" -}}
{{- $addr := .addr -}}
{{- $n := int .n -}}
{{- if contains ":" $addr -}}
{{- if contains ":" .ip -}}
{{- $a := include "claude-k8s.ipv6Nibbles" $addr -}}
{{- $b := include "claude-k8s.ipv6Nibbles" .ip -}}
{{- $k := int (div $n 4) -}}
{{- $r := int (mod $n 4) -}}
{{- if eq (substr 0 $k $a) (substr 0 $k $b) -}}
{{- if eq $r 0 -}}
true
{{- else -}}
{{- $hex := dict "0" 0 "1" 1 "2" 2 "3" 3 "4" 4 "5" 5 "6" 6 "7" 7 "8" 8 "9" 9 "a" 10 "b" 11 "c" 12 "d" 13 "e" 14 "f" 15 -}}
{{- $d := atoi (include "claude-k8s.pow2" (sub 4 $r)) -}}
{{- if eq (div (get $hex (substr $k (int (add $k 1)) $a)) $d) (div (get $hex (substr $k (int (add $k 1)) $b)) $d) -}}
true
{{- end -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- else if not (contains ":" .ip) -}}
{{- $block := atoi (include "claude-k8s.pow2" (sub 32 $n)) -}}
{{- if eq (div (atoi (include "claude-k8s.ipv4Int" $addr)) $block) (div (atoi (include "claude-k8s.ipv4Int" .ip)) $block) -}}
true
{{- end -}}
{{- end -}}
{{- end -}}

{{/*
Fails unless .cidr (named .where in the message) is a CIDR agents may be allowed to reach: not /0, and holding no
forbidden address (unless one of .except holds it) nor, where .root's lookup finds it, the API server's address.
*/}}
{{- define "claude-k8s.networkPolicy.checkCidr" -}}
{{- $cidr := toString .cidr -}}
{{- $where := .where -}}
{{- $parts := splitList "/" $cidr -}}
{{- if ne (len $parts) 2 -}}
{{- fail (printf "%s: %q is not a CIDR (address/prefix length)" $where $cidr) -}}
{{- end -}}
{{- $addr := index $parts 0 -}}
{{- $n := atoi (index $parts 1) -}}
{{- $v6 := contains ":" $addr -}}
{{- if or (and $v6 (ne (len (include "claude-k8s.ipv6Nibbles" $addr)) 32)) (and (not $v6) (ne (len (splitList "." $addr)) 4)) (gt $n (ternary 128 32 $v6)) (ne (index $parts 1) (toString $n)) -}}
{{- fail (printf "%s: %q is not a CIDR (address/prefix length)" $where $cidr) -}}
{{- end -}}
{{- if eq $n 0 -}}
{{- fail (printf "%s: %q allows every address, the API server and cloud metadata included: list the hosts' own ranges, or set networkPolicy.allowAnyPublicHttps=true for HTTPS to any public address (private, link-local and CGNAT ranges excluded)" $where $cidr) -}}
{{- end -}}
{{- $except := .except | default list -}}
{{- $forbidden := splitList " " (include "claude-k8s.networkPolicy.forbiddenAddresses" .) -}}
{{- range $forbidden -}}
{{- if include "claude-k8s.networkPolicy.allowsAddress" (dict "addr" $addr "n" $n "ip" . "except" $except) -}}
{{- fail (printf "%s: %q holds the cloud metadata address %s, which agent pods must never reach: narrow it (or, in extraEgress, add an `except` holding it)" $where $cidr .) -}}
{{- end -}}
{{- end -}}
{{- range .apiServer -}}
{{- if include "claude-k8s.networkPolicy.allowsAddress" (dict "addr" $addr "n" $n "ip" . "except" $except) -}}
{{- fail (printf "%s: %q holds the API server's address %s (the kubernetes Service's cluster IP or an endpoint of it), which agent pods must never reach: narrow it (or, in extraEgress, add an `except` holding it)" $where $cidr .) -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* "true" when the CIDR .addr/.n holds .ip and no CIDR of .except does. */}}
{{- define "claude-k8s.networkPolicy.allowsAddress" -}}
{{- $ip := .ip -}}
{{- if include "claude-k8s.cidrHolds" (dict "addr" .addr "n" .n "ip" $ip) -}}
{{- $excepted := false -}}
{{- range .except -}}
{{- $e := splitList "/" (toString .) -}}
{{- if and (eq (len $e) 2) (include "claude-k8s.cidrHolds" (dict "addr" (index $e 0) "n" (atoi (index $e 1)) "ip" $ip)) -}}
{{- $excepted = true -}}
{{- end -}}
{{- end -}}
{{- if not $excepted }}true{{ end -}}
{{- end -}}
{{- end -}}

{{/* The API server's addresses, space-separated: the `kubernetes` Service's cluster IPs and the addresses of every
EndpointSlice in `default` labelled for it (kubernetes.io/service-name=kubernetes). Empty under `helm template`,
where lookup finds nothing. */}}
{{- define "claude-k8s.apiServerAddresses" -}}
{{- $out := list -}}
{{- $service := lookup "v1" "Service" "default" "kubernetes" -}}
{{- range (dig "spec" "clusterIPs" list $service) }}{{ $out = append $out . }}{{ end -}}
{{- $slices := lookup "discovery.k8s.io/v1" "EndpointSlice" "default" "" -}}
{{- range (get $slices "items" | default list) -}}
{{- if eq (dig "metadata" "labels" "kubernetes.io/service-name" "" .) "kubernetes" -}}
{{- range (get . "endpoints" | default list) -}}
{{- range (get . "addresses" | default list) }}{{ $out = append $out . }}{{ end -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- join " " (uniq $out) -}}
{{- end -}}

{{/* Every check of the networkPolicy values. */}}
{{- define "claude-k8s.networkPolicy.validate" -}}
{{- $np := .Values.networkPolicy -}}
{{- if or (hasKey $np.modelApi "cidr") (hasKey $np.modelApi "except") -}}
{{- fail "networkPolicy.modelApi.cidr and .except were replaced in chart 0.2.0 by networkPolicy.modelApi.cidrs (a list of the model API's own ranges; default: Anthropic's published ones). For the old HTTPS-to-any-public-address rule set networkPolicy.allowAnyPublicHttps=true" -}}
{{- end -}}
{{- $api := list -}}
{{- if $np.checkApiServerAddress -}}
{{- $api = compact (splitList " " (include "claude-k8s.apiServerAddresses" .)) -}}
{{- end -}}
{{- range $i, $c := $np.dns.nodeLocalCidrs -}}
{{- include "claude-k8s.networkPolicy.checkCidr" (dict "cidr" $c "where" (printf "networkPolicy.dns.nodeLocalCidrs[%d]" $i) "apiServer" $api) -}}
{{- end -}}
{{- range $i, $c := $np.modelApi.cidrs -}}
{{- include "claude-k8s.networkPolicy.checkCidr" (dict "cidr" $c "where" (printf "networkPolicy.modelApi.cidrs[%d]" $i) "apiServer" $api) -}}
{{- end -}}
{{- range $i, $c := $np.gitHosts.cidrs -}}
{{- include "claude-k8s.networkPolicy.checkCidr" (dict "cidr" $c "where" (printf "networkPolicy.gitHosts.cidrs[%d]" $i) "apiServer" $api) -}}
{{- end -}}
{{- range $i, $rule := $np.extraEgress -}}
{{- range $j, $peer := $rule.to -}}
{{- with $peer.ipBlock -}}
{{- include "claude-k8s.networkPolicy.checkCidr" (dict "cidr" .cidr "except" .except "where" (printf "networkPolicy.extraEgress[%d].to[%d].ipBlock.cidr" $i $j) "apiServer" $api) -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- end -}}
