package v1alpha1

import "testing"

func TestMarked(t *testing.T) {
	tests := []struct {
		name   string
		body   string
		marker string
		want   bool
	}{
		{"status on the first line", MarkerStatus + "\n<!-- purrvision:state {} -->\n**Store**", MarkerStatus, true},
		{"status with CRLF", MarkerStatus + "\r\nrest", MarkerStatus, true},
		{"status only", MarkerStatus, MarkerStatus, true},
		{"status quoted in a reply", "<!-- purrvision:reply comment=1 -->\n> /purrvision " + MarkerStatus, MarkerStatus, false},
		{"status after text", "hello " + MarkerStatus, MarkerStatus, false},
		{"status with trailing text", MarkerStatus + " Ready at https://evil.example", MarkerStatus, false},
		{"credentials with attributes", "<!-- purrvision:credentials id=ab12 -->\ntext", MarkerCredentials, true},
		{"credentials without the close", "<!-- purrvision:credentials id=ab12\n-->", MarkerCredentials, false},
		{"credentials, two comments on one line", "<!-- purrvision:credentials id=1 --> <!-- x -->", MarkerCredentials, false},
		{"reply", "<!-- purrvision:reply comment=7 -->\n> x", MarkerReply, true},
		{"prefix of another marker", "<!-- purrvision:replyx comment=7 -->", MarkerReply, false},
		{"empty", "", MarkerStatus, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Marked(tt.body, tt.marker); got != tt.want {
				t.Errorf("Marked(%q, %q) = %t, want %t", tt.body, tt.marker, got, tt.want)
			}
		})
	}
}

// TestEnvironmentOn: the default cluster's stores keep the environment
// they had before each cluster reported its own; the others' name the
// cluster.
func TestEnvironmentOn(t *testing.T) {
	tests := []struct {
		name, cluster, def, want string
	}{
		{"default cluster", "a", "a", "store-cat-cafe"},
		{"no cluster named", "", "a", "store-cat-cafe"},
		{"another cluster", "b", "a", "b/store-cat-cafe"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := EnvironmentOn(tt.cluster, tt.def, "cat-cafe"); got != tt.want {
				t.Errorf("EnvironmentOn(%q, %q, cat-cafe) = %q, want %q", tt.cluster, tt.def, got, tt.want)
			}
		})
	}
}
