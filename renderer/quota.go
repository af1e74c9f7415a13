package renderer

import (
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// sizing splits a plan between the store's two pods and two volumes, and,
// when the plan takes backups, the backup pod (backupShare), taken off the
// top so all three fit the quota at once. The installer runs as an init
// container of the web pod with the web pod's resources, so it never adds
// to the quota.
type sizing struct {
	web, db, backup         corev1.ResourceRequirements
	dbStorage, uploadsStore resource.Quantity
}

const mi = 1 << 20

func (s *store) sizing() sizing {
	cpu := s.plan.CPU.MilliValue()
	mem := s.plan.Memory.Value()
	storage := s.plan.Storage.Value()
	var backup corev1.ResourceRequirements
	if s.bk != nil {
		bCPU, bMem := backupShare(cpu, mem)
		backup = requirements(bCPU, bMem)
		cpu, mem = cpu-bCPU, mem-bMem
	}

	webCPU := cpu * 60 / 100
	webMem := roundMi(mem * 60 / 100)
	dbStorage := roundMi(storage * 30 / 100)
	return sizing{
		web:          requirements(webCPU, webMem),
		db:           requirements(cpu-webCPU, roundMi(mem-webMem)),
		backup:       backup,
		dbStorage:    *resource.NewQuantity(dbStorage, resource.BinarySI),
		uploadsStore: *resource.NewQuantity(roundMi(storage-dbStorage), resource.BinarySI),
	}
}

func roundMi(b int64) int64 { return b / mi * mi }

// requirements asks for half of the limit, so a store can burst.
func requirements(milliCPU, memBytes int64) corev1.ResourceRequirements {
	return corev1.ResourceRequirements{
		Limits: corev1.ResourceList{
			corev1.ResourceCPU:    *resource.NewMilliQuantity(milliCPU, resource.DecimalSI),
			corev1.ResourceMemory: *resource.NewQuantity(memBytes, resource.BinarySI),
		},
		Requests: corev1.ResourceList{
			corev1.ResourceCPU:    *resource.NewMilliQuantity(max(milliCPU/2, 10), resource.DecimalSI),
			corev1.ResourceMemory: *resource.NewQuantity(roundMi(memBytes/2), resource.BinarySI),
		},
	}
}

func (s *store) resourceQuota() *corev1.ResourceQuota {
	p := s.plan
	return &corev1.ResourceQuota{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "ResourceQuota"},
		ObjectMeta: s.meta("store-quota"),
		Spec: corev1.ResourceQuotaSpec{
			Hard: corev1.ResourceList{
				corev1.ResourceRequestsCPU:                               p.CPU,
				corev1.ResourceLimitsCPU:                                 p.CPU,
				corev1.ResourceRequestsMemory:                            p.Memory,
				corev1.ResourceLimitsMemory:                              p.Memory,
				corev1.ResourceRequestsStorage:                           p.Storage,
				corev1.ResourcePersistentVolumeClaims:                    resource.MustParse("4"),
				corev1.ResourcePods:                                      s.quantityPods(),
				corev1.ResourceServicesLoadBalancers:                     resource.MustParse("0"),
				corev1.ResourceServicesNodePorts:                         resource.MustParse("0"),
				corev1.ResourceName("count/ingresses.networking.k8s.io"): resource.MustParse("2"),
				// Whichever way the cluster exposes stores, as the installer
				// may manage both (rbac).
				corev1.ResourceName("count/httproutes.gateway.networking.k8s.io"): resource.MustParse("2"),
			},
		},
	}
}

// limitRange gives defaults to containers that set no resources, so they
// are admitted under the quota, and caps what one container or volume takes.
func (s *store) limitRange() *corev1.LimitRange {
	p := s.plan
	defLimit := requirements(min(p.CPU.MilliValue(), 250), min(p.Memory.Value(), 256*mi))
	return &corev1.LimitRange{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "LimitRange"},
		ObjectMeta: s.meta("store-limits"),
		Spec: corev1.LimitRangeSpec{
			Limits: []corev1.LimitRangeItem{
				{
					Type:           corev1.LimitTypeContainer,
					Default:        defLimit.Limits,
					DefaultRequest: defLimit.Requests,
					Max: corev1.ResourceList{
						corev1.ResourceCPU:    p.CPU,
						corev1.ResourceMemory: p.Memory,
					},
				},
				{
					Type: corev1.LimitTypePersistentVolumeClaim,
					Max:  corev1.ResourceList{corev1.ResourceStorage: p.Storage},
				},
			},
		},
	}
}
