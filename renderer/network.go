package renderer

import (
	"net"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/purrvision/purrvision/internal/config"
)

const labelNamespaceName = "kubernetes.io/metadata.name"

// networkPolicies isolate the store: everything is denied, then DNS, the
// shared Gateway's pods (or the ingress controller's) to the web pods, the web pods to the database and, when
// the plan allows it, the web pods to the internet on 443 are let through;
// when it takes backups, the backup pods to the backup target.
// No rule names another namespace except the Gateway's (or the ingress
// controller's) and kube-dns, so no store can reach another.
func (s *store) networkPolicies() ([]any, error) {
	web := metav1.LabelSelector{MatchLabels: map[string]string{LabelComponent: ComponentWeb}}
	db := metav1.LabelSelector{MatchLabels: map[string]string{LabelComponent: ComponentDatabase}}
	dbClients := metav1.LabelSelector{MatchLabels: map[string]string{LabelDatabaseClient: "true"}}
	ingress := []networkingv1.PolicyType{networkingv1.PolicyTypeIngress}
	egress := []networkingv1.PolicyType{networkingv1.PolicyTypeEgress}

	policies := []any{
		s.netpol("default-deny-all", metav1.LabelSelector{}, []networkingv1.PolicyType{networkingv1.PolicyTypeIngress, networkingv1.PolicyTypeEgress}, nil, nil),
		s.netpol("allow-dns", metav1.LabelSelector{}, egress, nil, []networkingv1.NetworkPolicyEgressRule{{
			To: []networkingv1.NetworkPolicyPeer{{
				NamespaceSelector: &metav1.LabelSelector{MatchLabels: map[string]string{labelNamespaceName: s.cfg.Network.DNS.Namespace}},
				PodSelector:       &metav1.LabelSelector{MatchLabels: s.cfg.Network.DNS.PodLabels},
			}},
			Ports: ports(53, corev1.ProtocolUDP, corev1.ProtocolTCP),
		}}),
		s.allowWebTraffic(web),
		s.netpol("allow-database-from-clients", db, ingress, []networkingv1.NetworkPolicyIngressRule{{
			From:  []networkingv1.NetworkPolicyPeer{{PodSelector: &dbClients}},
			Ports: ports(DatabasePort, corev1.ProtocolTCP),
		}}, nil),
		s.netpol("allow-clients-to-database", dbClients, egress, nil, []networkingv1.NetworkPolicyEgressRule{{
			To:    []networkingv1.NetworkPolicyPeer{{PodSelector: &db}},
			Ports: ports(DatabasePort, corev1.ProtocolTCP),
		}}),
	}
	if s.plan.InternetEgress {
		policies = append(policies, s.netpol("allow-internet-https", web, egress, nil, []networkingv1.NetworkPolicyEgressRule{{
			To:    s.internetPeers(),
			Ports: ports(443, corev1.ProtocolTCP),
		}}))
	}
	if s.bk != nil {
		p, err := s.allowBackupTarget()
		if err != nil {
			return nil, err
		}
		policies = append(policies, p)
	}
	return policies, nil
}

// allowWebTraffic lets the pods that carry the store's traffic into the
// cluster reach its web pods: the shared Gateway's, or the ingress
// controller's, as the cluster exposes stores.
func (s *store) allowWebTraffic(web metav1.LabelSelector) *networkingv1.NetworkPolicy {
	name, ns, pods := PolicyAllowIngressController, s.site.Ingress.Namespace, s.site.Ingress.PodLabels
	if s.site.Exposure == config.ExposureGateway {
		name, ns, pods = PolicyAllowGateway, s.site.Gateway.Namespace, s.site.Gateway.PodLabels
	}
	return s.netpol(name, web, []networkingv1.PolicyType{networkingv1.PolicyTypeIngress}, []networkingv1.NetworkPolicyIngressRule{{
		From: []networkingv1.NetworkPolicyPeer{{
			NamespaceSelector: &metav1.LabelSelector{MatchLabels: map[string]string{labelNamespaceName: ns}},
			PodSelector:       &metav1.LabelSelector{MatchLabels: pods},
		}},
		Ports: ports(WebPort, corev1.ProtocolTCP),
	}}, nil)
}

// The policies that let outside traffic in, one per kind of exposure.
const (
	PolicyAllowIngressController = "allow-ingress-controller"
	PolicyAllowGateway           = "allow-gateway"
)

// internetPeers is every address but the cluster's internal ranges.
func (s *store) internetPeers() []networkingv1.NetworkPolicyPeer {
	v4 := &networkingv1.IPBlock{CIDR: "0.0.0.0/0"}
	v6 := &networkingv1.IPBlock{CIDR: "::/0"}
	for _, c := range s.cfg.Network.InternalCIDRs {
		ip, _, err := net.ParseCIDR(c)
		if err != nil {
			continue // config validation refuses these
		}
		if ip.To4() != nil {
			v4.Except = append(v4.Except, c)
		} else {
			v6.Except = append(v6.Except, c)
		}
	}
	return []networkingv1.NetworkPolicyPeer{{IPBlock: v4}, {IPBlock: v6}}
}

func (s *store) netpol(name string, pods metav1.LabelSelector, types []networkingv1.PolicyType, in []networkingv1.NetworkPolicyIngressRule, out []networkingv1.NetworkPolicyEgressRule) *networkingv1.NetworkPolicy {
	return &networkingv1.NetworkPolicy{
		TypeMeta:   metav1.TypeMeta{APIVersion: networkingv1.SchemeGroupVersion.String(), Kind: "NetworkPolicy"},
		ObjectMeta: s.meta(name),
		Spec: networkingv1.NetworkPolicySpec{
			PodSelector: pods,
			PolicyTypes: types,
			Ingress:     in,
			Egress:      out,
		},
	}
}

func ports(port int, protocols ...corev1.Protocol) []networkingv1.NetworkPolicyPort {
	out := make([]networkingv1.NetworkPolicyPort, len(protocols))
	for i := range protocols {
		p := intstr.FromInt(port)
		out[i] = networkingv1.NetworkPolicyPort{Protocol: &protocols[i], Port: &p}
	}
	return out
}
